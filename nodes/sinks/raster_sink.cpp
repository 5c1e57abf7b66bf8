#include "nodes/sinks/raster_sink.hpp"

#include <cpl_error.h>
#include <cpl_string.h>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include <spdlog/spdlog.h>

#include "rasterflow/errors.hpp"
#include "rasterflow/node/payload.hpp"
#include "rasterflow/node/registry.hpp"

namespace rasterflow::nodes {
namespace {

// A batch of staged rows is at most this many bytes, whatever the dataset's block height.
constexpr std::size_t kMaxStagedBytes = std::size_t{64} << 20;

// One tile's rows in the band type, row-major: row, then band, then column.
struct RasterRows final : Payload {
  std::vector<std::byte> data;
  std::size_t bytes() const noexcept override { return data.capacity(); }
};

// A CSL string list that frees itself.
struct StringList {
  char** list = nullptr;
  explicit StringList(const std::vector<std::string>& items) {
    for (const auto& s : items) list = CSLAddString(list, s.c_str());
  }
  ~StringList() { CSLDestroy(list); }
  StringList(const StringList&) = delete;
  StringList& operator=(const StringList&) = delete;
};

bool has_capability(GDALDriverH driver, const char* key) {
  const char* value = GDALGetMetadataItem(driver, key, nullptr);
  return value != nullptr && EQUAL(value, "YES");
}

std::string data_type_choices_text(GDALDriverH driver) {
  const char* types = GDALGetMetadataItem(driver, GDAL_DMD_CREATIONDATATYPES, nullptr);
  std::string text = types != nullptr ? types : "";
  // GDAL 3.5 and 3.6's GTiff writes Int64 and UInt64 but does not list them (3.7 does).
  if (std::string(GDALGetDriverShortName(driver)) == "GTiff" && text.find("Int64") == std::string::npos)
    text += " Int64 UInt64";
  return text;
}

bool driver_stores(GDALDriverH driver, GDALDataType type) {
  const std::string types = data_type_choices_text(driver);
  if (types.empty()) return true;  // the driver does not say: GDAL will tell at creation
  const std::string name = GDALGetDataTypeName(type);
  std::size_t start = 0;
  while (start <= types.size()) {
    const std::size_t end = std::min(types.find(' ', start), types.size());
    if (types.compare(start, end - start, name) == 0) return true;
    start = end + 1;
  }
  return false;
}

// The nodata value of a band type when none is given: NaN for floating types, the lowest
// value of signed integers and the highest of unsigned ones (the value least likely to be data).
double default_nodata(GDALDataType type) {
  if (GDALDataTypeIsFloating(type)) return std::numeric_limits<double>::quiet_NaN();
  const int bits = GDALGetDataTypeSizeBits(type);
  if (GDALDataTypeIsSigned(type)) return -std::ldexp(1.0, bits - 1);
  return std::ldexp(1.0, bits) - 1;
}

// Whether `value` is a value of the band type (integers in range; any number for floats).
bool representable(double value, GDALDataType type) {
  if (GDALDataTypeIsFloating(type)) return true;
  if (std::isnan(value) || std::trunc(value) != value) return false;
  const int bits = GDALGetDataTypeSizeBits(type);
  if (GDALDataTypeIsSigned(type)) return value >= -std::ldexp(1.0, bits - 1) && value <= std::ldexp(1.0, bits - 1) - 1;
  return value >= 0 && value <= std::ldexp(1.0, bits) - 1;
}

std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

}  // namespace

void RasterSinkOptions::declare(OptionBinder& args) {
  args.add("path", "raster file (a folder for Zarr), relative to --output-dir", path).output_path();
  args.add("format",
           "GDAL driver short name: any raster driver that can create (GTiff, netCDF, Zarr, ...) or copy (COG, "
           "PNG...: written as a temporary GTiff, copied at commit)",
           format, "GTiff");
  args.add("creation_options", "the driver's creation options, KEY=VALUE (e.g. COMPRESS=DEFLATE, TILED=YES)",
           creation_options);
  args.add("data_type",
           "band type: auto (the smallest GDAL type holding every column exactly, GDALDataTypeUnion of their "
           "types) or a GDAL type name (values converted as gdal_translate -ot does)",
           data_type, "auto")
      .choices({"auto", "Byte", "UInt16", "Int16", "UInt32", "Int32", "UInt64", "Int64", "Float32", "Float64"});
  args.add("nodata",
           "nodata value of every band (default: NaN for floating types, the type's lowest signed or highest "
           "unsigned value for integers)",
           nodata);
  args.add("layout",
           "netCDF and Zarr: columns (a variable per column, named after it), time (one variable with a time "
           "dimension, when the columns are the time steps of one source variable) or auto (time when they are, "
           "else columns)",
           layout, "auto")
      .choices({"auto", "columns", "time"});
}

RasterSink::RasterSink(NodeSpec spec) : RasterSink(bind_options<RasterSinkOptions>(spec), std::move(spec)) {}

RasterSink::RasterSink(RasterSinkOptions options, NodeSpec&& spec)
    : TableSink(std::move(spec), Output::file, options.path, options.format == "Zarr"), options_(std::move(options)) {
  ensure_gdal();
  driver_ = GDALGetDriverByName(options_.format.c_str());
  if (driver_ == nullptr)
    throw_graph_error(where(), "option \"format\": unknown GDAL driver \"" + options_.format + "\"");
  if (!has_capability(driver_, GDAL_DCAP_RASTER))
    throw_graph_error(where(), "option \"format\": GDAL driver \"" + options_.format + "\" does not write rasters");
  if (!has_capability(driver_, GDAL_DCAP_CREATE)) {
    if (!has_capability(driver_, GDAL_DCAP_CREATECOPY))
      throw_graph_error(where(), "option \"format\": GDAL driver \"" + options_.format + "\" cannot create files");
    copy_only_ = true;
  }
  // netCDF and Zarr are written through GDAL's multidimensional API as CF datasets, from a
  // staged GTiff (GDAL's raster mode would name the variables Band1..N and give them one type).
  cf_ = is_cf_driver(options_.format);
  if (cf_) copy_only_ = true;
  const StringList creation(options_.creation_options.value_or(std::vector<std::string>{}));
  CPLErrorReset();
  if (!GDALValidateCreationOptions(driver_, creation.list)) {
    throw_graph_error(where(), "option \"creation_options\": " +
                                   last_gdal_error("not valid for GDAL driver \"" + options_.format + "\""));
  }
}

RasterSink::~RasterSink() { abort(); }

void RasterSink::prepare_table(const RunContext& ctx, const TableProducer& table) {
  grid_ = ctx.grid;
  names_ = table.column_names();
  metadata_ = table.column_metadata();
  if (options_.data_type != "auto") {
    type_ = GDALGetDataTypeByName(options_.data_type.c_str());
  } else {
    const auto types = table.column_types();
    type_ = GDT_Unknown;
    for (std::size_t i = 0; i < names_.size(); ++i) {
      const GDALDataType t =
          i < types.size() && !types[i].empty() ? GDALGetDataTypeByName(types[i].c_str()) : GDT_Float64;
      type_ = type_ == GDT_Unknown ? t : GDALDataTypeUnion(type_, t);
    }
    if (type_ == GDT_Unknown) type_ = GDT_Float64;
  }
  type_bytes_ = static_cast<std::size_t>(GDALGetDataTypeSizeBytes(type_));
  if (cf_) prepare_cf(table.column_types());
  const GDALDriverH writer = copy_only_ ? GDALGetDriverByName("GTiff") : driver_;
  for (const GDALDriverH d : {driver_, writer}) {
    if (!driver_stores(d, type_)) {
      throw_graph_error(where(), std::string("option \"data_type\": GDAL driver \"") + GDALGetDriverShortName(d) +
                                     "\" cannot store " + GDALGetDataTypeName(type_) + " bands" +
                                     (options_.data_type == "auto" ? " (the type the columns need)" : "") +
                                     " (it stores: " + data_type_choices_text(d) + ")");
    }
  }
  nodata_ = options_.nodata.value_or(default_nodata(type_));
  if (!representable(nodata_, type_)) {
    throw_graph_error(where(), "option \"nodata\": " + number_text(nodata_) + " is not a value of the band type " +
                                   GDALGetDataTypeName(type_));
  }
  prepare_wide_nodata();
  if (grid_.width > std::numeric_limits<int>::max() || grid_.height > std::numeric_limits<int>::max())
    throw_graph_error(where(), "the grid is too large for a GDAL raster");
}

PayloadPtr RasterSink::format(const TileRequest& tile, const Table& table) const {
  const std::size_t width = static_cast<std::size_t>(tile.width);
  const std::size_t bands = table.columns.size();
  const std::size_t cells = static_cast<std::size_t>(tile.cells());
  auto out = std::make_shared<RasterRows>();
  out->data.resize(cells * bands * type_bytes_);
  const bool check_nodata = !std::isnan(nodata_);
  std::vector<double> values(cells);
  for (std::size_t b = 0; b < bands; ++b) {
    const Column& column = *table.columns[b];
    if (type_ == GDT_Int64 || type_ == GDT_UInt64) {
      format_wide(tile, table, b, out->data.data());
      continue;
    }
    if (is_wide(column.kind)) count_inexact(column, table);
    std::fill(values.begin(), values.end(), nodata_);
    for (const std::uint32_t cell : table.cells) {
      if (!column.valid[cell]) continue;
      // A Float32 column's value is the float it is (as the CSV prints it), whatever the band type.
      const double v = column.kind == ValueKind::float32 ? static_cast<double>(static_cast<float>(column.values[cell]))
                                                         : column.number(cell);
      if (check_nodata && v == nodata_) {
        throw_node_error(where(), "option \"nodata\": column \"" + names_[b] + "\" has the value " + number_text(v) +
                                      " (grid row " +
                                      std::to_string(tile.row0 + static_cast<std::int64_t>(cell / width)) +
                                      ", column " + std::to_string(cell % width) +
                                      "), which is the nodata value; choose a nodata value the data does not take");
      }
      values[cell] = v;
    }
    for (std::size_t r = 0; r < static_cast<std::size_t>(tile.rows); ++r) {
      GDALCopyWords64(values.data() + r * width, GDT_Float64, sizeof(double),
                      out->data.data() + ((r * bands + b) * width) * type_bytes_, type_, static_cast<int>(type_bytes_),
                      static_cast<GPtrDiff_t>(width));
    }
    if (options_.data_type != "auto") count_changed(values, out->data.data(), b, bands, width, tile.rows);
  }
  return out;
}

// A data_type chosen by the user may change values (rounding, clamping): counted, and warned of
// at commit with the count, as the values written are not the table's.
void RasterSink::count_changed(const std::vector<double>& values, const std::byte* rows, std::size_t band,
                               std::size_t bands, std::size_t width, std::int64_t count) const {
  std::vector<double> back(width);
  std::uint64_t changed = 0;
  for (std::size_t r = 0; r < static_cast<std::size_t>(count); ++r) {
    GDALCopyWords64(rows + ((r * bands + band) * width) * type_bytes_, type_, static_cast<int>(type_bytes_),
                    back.data(), GDT_Float64, sizeof(double), static_cast<GPtrDiff_t>(width));
    for (std::size_t c = 0; c < width; ++c) {
      const double v = values[r * width + c];
      changed += !(v == back[c] || (std::isnan(v) && std::isnan(back[c])));
    }
  }
  if (changed > 0) changed_->fetch_add(changed, std::memory_order_relaxed);
}

void RasterSink::prepare_cf(const std::vector<std::string>& types) {
  cf_columns_.clear();
  for (std::size_t i = 0; i < names_.size(); ++i) {
    CfColumn c;
    c.name = names_[i];
    // Each variable in its column's own type (with data_type auto), else the type asked for.
    c.type = options_.data_type != "auto"            ? type_
             : i < types.size() && !types[i].empty() ? GDALGetDataTypeByName(types[i].c_str())
                                                     : GDT_Float64;
    if (i < metadata_.size()) c.metadata = metadata_[i];
    cf_columns_.push_back(std::move(c));
  }
  std::string why;
  const bool stackable = stackable_in_time(cf_columns_, &why);
  if (options_.layout == "time" && !stackable)
    throw_graph_error(where(),
                      "option \"layout\": time needs the columns to be the time steps of one variable (" + why + ")");
  layout_ = options_.layout == "time" || (options_.layout == "auto" && stackable && cf_columns_.size() > 1)
                ? CfLayout::time
                : CfLayout::columns;
}

void RasterSink::write_cf() const {
  const DatasetPtr source(GDALOpen(temporary_gtiff().c_str(), GA_ReadOnly));
  if (!source) throw_io_error(where(), "cannot reopen " + temporary_gtiff() + ": " + last_gdal_error("no reason"));
  CfOutput out;
  out.driver = driver_;
  out.path = partial_name();
  out.layout = layout_;
  out.nodata = options_.nodata.value_or(std::numeric_limits<double>::quiet_NaN());
  out.creation_options = options_.creation_options.value_or(std::vector<std::string>{});
  out.where = where();
  write_cf_dataset(out, get(source), grid_, cf_columns_, std::max<std::int64_t>(1, block_rows_));
  std::filesystem::remove(temporary_gtiff());
}

void RasterSink::begin() {
  if (!is_band()) create_dataset();
}

void RasterSink::create_dataset() {
  discard();
  remove_partial();
  const GDALDriverH writer = copy_only_ ? GDALGetDriverByName("GTiff") : driver_;
  const std::string path = copy_only_ ? temporary_gtiff() : partial_name();
  const StringList creation(copy_only_ ? std::vector<std::string>{"BIGTIFF=IF_SAFER"}
                                       : options_.creation_options.value_or(std::vector<std::string>{}));
  const int bands = static_cast<int>(names_.size());
  CPLErrorReset();
  dataset_.reset(GDALCreate(writer, path.c_str(), static_cast<int>(grid_.width), static_cast<int>(grid_.height), bands,
                            type_, creation.list));
  if (!dataset_) {
    discard();
    remove_partial();
    throw_io_error(where(), "GDAL cannot create " + path + ": " + last_gdal_error("no reason given"));
  }
  GDALDatasetH ds = get(dataset_);
  GeoTransform gt = grid_.geotransform();
  GDALSetGeoTransform(ds, gt.data());
  if (!grid_.crs.empty()) GDALSetProjection(ds, grid_.crs.c_str());
  for (int b = 0; b < bands; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    GDALSetDescription(band, names_[static_cast<std::size_t>(b)].c_str());
    if (static_cast<std::size_t>(b) < metadata_.size() && !metadata_[static_cast<std::size_t>(b)].units.empty())
      GDALSetRasterUnitType(band, metadata_[static_cast<std::size_t>(b)].units.c_str());
    if (type_ == GDT_Int64) {
      GDALSetRasterNoDataValueAsInt64(band, wide_nodata_);
    } else if (type_ == GDT_UInt64) {
      GDALSetRasterNoDataValueAsUInt64(band, static_cast<std::uint64_t>(wide_nodata_));
    } else {
      GDALSetRasterNoDataValue(band, nodata_);
    }
  }
  int block_x = 0, block_y = 0;
  GDALGetBlockSize(GDALGetRasterBand(ds, 1), &block_x, &block_y);
  const std::size_t row_bytes = static_cast<std::size_t>(grid_.width) * static_cast<std::size_t>(bands) * type_bytes_;
  block_rows_ = std::clamp<std::int64_t>(block_y, 1, grid_.height);
  if (static_cast<std::size_t>(block_rows_) * row_bytes > kMaxStagedBytes) {
    // Whole multiples of the block height when one fits, else as many rows as fit.
    const auto fit = static_cast<std::int64_t>(std::max<std::size_t>(1, kMaxStagedBytes / row_bytes));
    block_rows_ = fit >= block_y ? fit / block_y * block_y : fit;
  }
  staged_.assign(static_cast<std::size_t>(block_rows_) * row_bytes, std::byte{0});
  staged_row0_ = 0;
  staged_count_ = 0;
}

void RasterSink::emit(const TileRequest& tile, const Payload& data) {
  const auto& rows = static_cast<const RasterRows&>(data);
  if (is_band()) {
    write_bytes({reinterpret_cast<const char*>(rows.data.data()), rows.data.size()},
                static_cast<std::uint64_t>(tile.rows));
  } else {
    stage(rows.data.data(), tile.rows);
    count(static_cast<std::uint64_t>(tile.rows), 0);
  }
}

void RasterSink::stage(const std::byte* rows, std::int64_t count) {
  const std::size_t band_row = static_cast<std::size_t>(grid_.width) * type_bytes_;
  const std::size_t bands = names_.size();
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::size_t b = 0; b < bands; ++b) {
      std::memcpy(staged_.data() +
                      (b * static_cast<std::size_t>(block_rows_) + static_cast<std::size_t>(staged_count_)) * band_row,
                  rows + (static_cast<std::size_t>(i) * bands + b) * band_row, band_row);
    }
    if (++staged_count_ == block_rows_) flush_stage();
  }
}

void RasterSink::flush_stage() {
  if (staged_count_ == 0) return;
  const std::size_t band_row = static_cast<std::size_t>(grid_.width) * type_bytes_;
  CPLErrorReset();
  const CPLErr rc =
      GDALDatasetRasterIOEx(get(dataset_), GF_Write, 0, static_cast<int>(staged_row0_), static_cast<int>(grid_.width),
                            static_cast<int>(staged_count_), staged_.data(), static_cast<int>(grid_.width),
                            static_cast<int>(staged_count_), type_, static_cast<int>(names_.size()), nullptr,
                            static_cast<GSpacing>(type_bytes_), static_cast<GSpacing>(band_row),
                            static_cast<GSpacing>(band_row * static_cast<std::size_t>(block_rows_)), nullptr);
  if (rc != CE_None)
    throw_io_error(where(), "writing rows of " + partial_name() + " failed: " + last_gdal_error("no reason given"));
  // The rows written are whole blocks: written out now, so GDAL's cache holds one batch at most.
  GDALFlushCache(get(dataset_));
  if (CPLGetLastErrorType() == CE_Failure)
    throw_io_error(where(), "writing rows of " + partial_name() + " failed: " + last_gdal_error("no reason given"));
  count(0, static_cast<std::uint64_t>(staged_count_) * band_row * names_.size());
  staged_row0_ += staged_count_;
  staged_count_ = 0;
}

void RasterSink::finish_dataset() {
  flush_stage();
  CPLErrorReset();
  dataset_.reset();  // GDALClose: writes what is left, and the header
  if (CPLGetLastErrorType() == CE_Failure)
    throw_io_error(where(), "closing " + partial_name() + " failed: " + last_gdal_error("no reason given"));
  if (cf_) {
    write_cf();
  } else if (copy_only_) {
    const DatasetPtr source(GDALOpen(temporary_gtiff().c_str(), GA_ReadOnly));
    if (!source) throw_io_error(where(), "cannot reopen " + temporary_gtiff() + ": " + last_gdal_error("no reason"));
    const StringList creation(options_.creation_options.value_or(std::vector<std::string>{}));
    CPLErrorReset();
    DatasetPtr copy(
        GDALCreateCopy(driver_, partial_name().c_str(), get(source), FALSE, creation.list, nullptr, nullptr));
    if (!copy) {
      throw_io_error(where(), "GDAL driver \"" + options_.format + "\" cannot copy " + temporary_gtiff() + " to " +
                                  partial_name() + ": " + last_gdal_error("no reason given"));
    }
    copy.reset();
    if (CPLGetLastErrorType() == CE_Failure)
      throw_io_error(where(), "closing " + partial_name() + " failed: " + last_gdal_error("no reason given"));
    std::filesystem::remove(temporary_gtiff());
  }
}

void RasterSink::finish() {
  if (const std::uint64_t changed = changed_->load(); changed > 0) {
    spdlog::warn(
        "{}: option \"data_type\": {} value{} changed when written as {} (the CSV of the same run has the "
        "exact values; use data_type: auto to keep them)",
        where(), changed, changed == 1 ? "" : "s", GDALGetDataTypeName(type_));
  }
  warn_inexact();
  if (!is_band()) finish_dataset();
}

void RasterSink::discard() noexcept {
  dataset_.reset();
  std::error_code ec;
  std::filesystem::remove_all(temporary_gtiff(), ec);
  std::filesystem::remove(temporary_gtiff() + ".aux.xml", ec);
  if (!is_band()) remove_partial();
}

SinkNode::Gathered RasterSink::gather(Ranks& ranks) {
  // Every rank's raw rows, in rank order, into one raw file (MPI-IO); rank 0 writes the
  // dataset from it with the same staging as one process, so the file is the same bytes.
  const std::filesystem::path raw = final_path().string() + ".partial.raw";
  const std::filesystem::path band = committed_band();
  std::error_code ec;
  try {
    ranks.concatenate(band, raw);
  } catch (...) {
    std::filesystem::remove(band, ec);
    if (ranks.rank() == 0) std::filesystem::remove(raw, ec);
    throw;
  }
  std::filesystem::remove(band, ec);
  std::string failure;
  if (ranks.rank() == 0) {
    try {
      create_dataset();
      std::ifstream in(raw, std::ios::binary);
      const std::size_t row_bytes = static_cast<std::size_t>(grid_.width) * names_.size() * type_bytes_;
      std::vector<std::byte> rows(static_cast<std::size_t>(block_rows_) * row_bytes);
      for (std::int64_t row = 0; row < grid_.height; row += block_rows_) {
        const std::int64_t count = std::min(block_rows_, grid_.height - row);
        in.read(reinterpret_cast<char*>(rows.data()),
                static_cast<std::streamsize>(static_cast<std::size_t>(count) * row_bytes));
        if (!in) throw_io_error(where(), "reading the ranks' rows from " + raw.string() + " failed (short file)");
        stage(rows.data(), count);
      }
      finish_dataset();
      publish();
    } catch (const std::exception& e) {
      failure = e.what();
      discard();
      remove_partial();
    }
    std::filesystem::remove(raw, ec);
  }
  if (ranks.broadcast(failure.empty() ? 0 : 1) != 0) {
    if (ranks.rank() == 0) throw IoError("rank 0: " + failure);
    throw IoError("rank " + std::to_string(ranks.rank()) + ": rank 0 could not write " + final_path().string());
  }
  return {final_path(), ranks.rank() == 0 ? bytes_written() : 0};
}

std::vector<std::string> RasterSink::describe() const {
  std::string line = "writes " + final_path().string() + " with GDAL driver " + options_.format + " (via " +
                     partial_name() +
                     (cf_          ? ", written as CF from the temporary GTiff " + temporary_gtiff()
                      : copy_only_ ? ", copied from the temporary GTiff " + temporary_gtiff()
                                   : std::string()) +
                     "): " + std::to_string(names_.size()) + " " + GDALGetDataTypeName(type_) + " bands, nodata " +
                     number_text(nodata_);
  if (!cf_) return {line};
  std::string vars;
  if (layout_ == CfLayout::time) {
    vars = cf_columns_.front().metadata.variable + "(time, y, x) " + GDALGetDataTypeName(cf_columns_.front().type) +
           ", " + std::to_string(cf_columns_.size()) + " time steps";
  } else {
    for (const auto& c : cf_columns_) vars += (vars.empty() ? "" : ", ") + c.name + " " + GDALGetDataTypeName(c.type);
  }
  return {line, "CF variables (layout " + options_.layout + "): " + vars};
}

ResourceNeeds RasterSink::resources() const {
  const double per_cell = static_cast<double>(names_.size() * type_bytes_);
  const std::uint64_t row = static_cast<std::uint64_t>(grid_.width) * names_.size() * type_bytes_;
  return {.bytes_per_cell = per_cell + sizeof(double), .held = std::min<std::uint64_t>(kMaxStagedBytes, 256 * row)};
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = "raster_sink",
    .description = "Writes the merged grid as a raster through GDAL (GTiff, COG, netCDF, Zarr...): one band per "
                   "column, named after it, with the grid's CRS, geotransform and nodata.",
    .options = rasterflow::declared_options<rasterflow::nodes::RasterSinkOptions>(),
    .min_inputs = 1,
    .max_inputs = 1,
    .input_kind = rasterflow::EdgeKind::table,
    .is_sink = true,
    .create = rasterflow::create_node<rasterflow::nodes::RasterSink>,
    .operation = "write"}))
