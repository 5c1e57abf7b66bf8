#include "nodes/common/raster_reader.hpp"

#include <cpl_string.h>
#include <cmath>

#include <filesystem>
#include <limits>

#include <spdlog/spdlog.h>

#include "rasterflow/errors.hpp"
#include "rasterflow/registry.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::nodes {

DatasetPtr RasterReader::open() const {
  ensure_gdal();
  DatasetPtr ds(GDALOpenEx(info_.path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  return ds;
}

RasterReader::RasterReader(std::string path, int band, std::optional<double> nodata, std::string where)
    : where_(std::move(where)) {
  info_.path = std::move(path);
  info_.band = band;
  try {
    open_source(nodata);
  } catch (const std::bad_alloc&) {
    throw_graph_error(where_, "option \"path\": out of memory while opening " + info_.path);
  }
}

void RasterReader::open_source(std::optional<double> given_nodata) {
  const std::string& where = where_;
  if (info_.path.rfind("/vsi", 0) != 0) {
    std::error_code ec;
    if (!std::filesystem::exists(info_.path, ec))
      throw_graph_error(where, "option \"path\": no such file: " + info_.path);
    if (std::filesystem::is_directory(info_.path, ec))
      throw_graph_error(where, "option \"path\": is a folder, not a raster file: " + info_.path);
  }
  const DatasetPtr ds = open();
  if (!ds)
    throw_graph_error(where, "option \"path\": GDAL cannot open " + info_.path + " as a raster (" +
                                 last_gdal_error("unknown format") + ")");
  const int bands = GDALGetRasterCount(get(ds));
  if (info_.band > bands) {
    throw_graph_error(where, "option \"band\": band " + std::to_string(info_.band) + " does not exist (" + info_.path +
                                 " has " + std::to_string(bands) + (bands == 1 ? " band)" : " bands)"));
  }
  info_.width = GDALGetRasterXSize(get(ds));
  info_.height = GDALGetRasterYSize(get(ds));
  if (GDALGetGeoTransform(get(ds), info_.gt.data()) != CE_None) {
    throw_graph_error(where, "option \"path\": " + info_.path + " has no geotransform (it is not georeferenced)");
  }
  // A rotated geotransform is kept: such sources take the warper path (Resample::fast_path_refusal).
  const char* wkt = GDALGetProjectionRef(get(ds));
  info_.crs = wkt != nullptr ? wkt : "";
  GDALRasterBandH b = GDALGetRasterBand(get(ds), info_.band);
  info_.type = GDALGetRasterDataType(b);
  GDALGetBlockSize(b, &info_.block_width, &info_.block_height);
  const char* pixel_type = GDALGetMetadataItem(b, "PIXELTYPE", "IMAGE_STRUCTURE");
  info_.signed_byte = info_.type == GDT_Byte && pixel_type != nullptr && std::string(pixel_type) == "SIGNEDBYTE";
  int has_nodata = 0;
  const double nodata = GDALGetRasterNoDataValue(b, &has_nodata);
  if (has_nodata) info_.nodata = nodata;
  if (info_.signed_byte && info_.nodata && *info_.nodata > 127.0) *info_.nodata -= 256.0;
  if (given_nodata) info_.nodata = given_nodata;
  make_warper_vrt();
  survey_decoding(get(ds));
  switch (info_.type) {
    case GDT_Byte:
    case GDT_UInt16:
    case GDT_Int16:
    case GDT_UInt32:
    case GDT_Int32:
    case GDT_Float32:
    case GDT_Float64:
#if GDAL_VERSION_NUM >= 3070000
    case GDT_Int8:
#endif
      break;
    default:
      throw_graph_error(
          where, "option \"band\": data type " + std::string(GDALGetDataTypeName(info_.type)) +
                     " is not supported (expected Byte, Int8, UInt16, Int16, UInt32, Int32, Float32 or Float64)");
  }
}

void RasterReader::make_warper_vrt() {
  // A floating source with a numeric nodata value is seen by GDAL's warper through a VRT that
  // turns that value into NaN, so that NaN and nodata are both left out.
  if ((info_.type == GDT_Float32 || info_.type == GDT_Float64) && info_.nodata && !std::isnan(*info_.nodata)) {
    char* escaped = CPLEscapeString(info_.path.c_str(), -1, CPLES_XML);
    char nodata_text[64];
    std::snprintf(nodata_text, sizeof nodata_text, "%.17g", *info_.nodata);
    warper_vrt_ = "<VRTDataset rasterXSize=\"" + std::to_string(info_.width) + "\" rasterYSize=\"" +
                  std::to_string(info_.height) +
                  "\"><VRTRasterBand dataType=\"Float64\" band=\"1\"><NoDataValue>nan</NoDataValue><ComplexSource>"
                  "<SourceFilename relativeToVRT=\"0\">" +
                  std::string(escaped) + "</SourceFilename><SourceBand>" + std::to_string(info_.band) +
                  "</SourceBand><NODATA>" + nodata_text + "</NODATA></ComplexSource></VRTRasterBand></VRTDataset>";
    CPLFree(escaped);
  }
}

void RasterReader::survey_decoding(GDALDatasetH ds) {
  // The strategies this file allows (decoding_policy.hpp). One row of the file's blocks decoded
  // once and shared by every thread, unless a row of blocks is so large (e.g. a whole file in
  // one strip) that holding it would cost more than reading through GDAL's cache. A tiled DEFLATE
  // or uncompressed GeoTIFF can also be decoded a few rows of every tile at a time
  // (TiffTileStreams), so memory does not follow its tile height: 32-row units, 16-row units with
  // one kept behind, and those with zlib's smaller inflate state. Each is opened once here, so
  // that the plan prices it and says why a file has none.
  block_row_bytes_ = 0;
  if (info_.block_width > 0 && info_.block_height > 0 &&
      __builtin_mul_overflow(
          padded_width(),
          static_cast<std::size_t>(info_.block_height) * static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info_.type)),
          &block_row_bytes_)) {
    block_row_bytes_ = std::numeric_limits<std::size_t>::max();
  }
  if (info_.block_width > 0 && info_.block_height > 0) {
    const auto probe = [&](int unit_rows, TiffTileStreams::Inflater inflater, std::string* why) {
      StreamShape shape;
      if (auto streams = TiffTileStreams::open(ds, info_.path, info_.band, where_, why, unit_rows, inflater)) {
        shape = {true, streams->unit_rows(), streams->state_bytes()};
      }
      return shape;
    };
    streams_shape_ = probe(32, TiffTileStreams::Inflater::isal, &streams_refused_);
    if (streams_shape_.available) {
      std::string ignored;
      small_shape_ = probe(16, TiffTileStreams::Inflater::isal, &ignored);
      zlib_shape_ = probe(16, TiffTileStreams::Inflater::zlib, &ignored);
    }
  }
  const auto ladder = decoding_ladder();
  set_up_decoding(ds, ladder.empty() ? Decoding::gdal_cache : ladder.front().kind);
}

const RasterReader::StreamShape& RasterReader::shape(Decoding d) const {
  static const StreamShape none;
  switch (d) {
    case Decoding::streams:
      return streams_shape_;
    case Decoding::small_streams:
      return small_shape_;
    case Decoding::zlib_streams:
      return zlib_shape_;
    default:
      return none;
  }
}

int RasterReader::stream_rows_kept(Decoding d) const {
  if (d != Decoding::streams) return 1;
  const std::size_t unit_row_bytes = padded_width() * static_cast<std::size_t>(shape(d).unit_rows) *
                                     static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info_.type));
  return static_cast<int>(std::clamp<std::size_t>(kStreamKeptBytes / std::max<std::size_t>(1, unit_row_bytes), 1, 64));
}

std::size_t RasterReader::strategy_bytes(Decoding d) const {
  if (d == Decoding::gdal_cache) return 0;
  if (d == Decoding::block_rows) {
    return block_row_bytes_ > std::numeric_limits<std::size_t>::max() / 2 ? std::numeric_limits<std::size_t>::max()
                                                                          : 2 * block_row_bytes_;
  }
  // The units kept behind the highest asked for, the spare buffers, and those the threads'
  // tiles hold (a tile's source rows mostly fall in one unit), then the inflate states.
  const StreamShape& s = shape(d);
  const std::size_t unit_row_bytes = padded_width() * static_cast<std::size_t>(s.unit_rows) *
                                     static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info_.type));
  const int units = 2 * stream_rows_kept(d) + std::max(1, threads_);
  return static_cast<std::size_t>(units) * unit_row_bytes + s.state_bytes;
}

std::vector<DecodingPrice> RasterReader::decoding_ladder() const {
  std::vector<DecodingPrice> available;
  const auto add = [&](Decoding d) {
    if (!forced_ || *forced_ == d) available.push_back({d, strategy_bytes(d), measured_cost(d)});
  };
  if (info_.block_width > 0 && info_.block_height > 0 && block_row_bytes_ <= kMaxBlockRowBytes)
    add(Decoding::block_rows);
  for (const Decoding d : {Decoding::streams, Decoding::small_streams, Decoding::zlib_streams}) {
    if (shape(d).available) add(d);
  }
  add(Decoding::gdal_cache);
  return nodes::decoding_ladder(std::move(available));
}

std::optional<DecodingPrice> RasterReader::next_decoding() const {
  const std::size_t now = decoded_rows_bytes();
  for (const DecodingPrice& p : decoding_ladder()) {
    if (p.bytes < now && p.kind != decoding_) return p;
  }
  return std::nullopt;
}

bool RasterReader::step_down_decoding() {
  const auto next = next_decoding();
  if (!next) return false;
  set_up_decoding(dataset(), next->kind);
  return true;
}

void RasterReader::force_decoding(Decoding d) {
  const bool allowed = [&] {
    switch (d) {
      case Decoding::block_rows:
        return info_.block_width > 0 && info_.block_height > 0 && block_row_bytes_ <= kMaxBlockRowBytes;
      case Decoding::gdal_cache:
        return true;
      default:
        return shape(d).available;
    }
  }();
  if (!allowed) {
    const std::string why = d == Decoding::block_rows  ? "a row of its blocks would hold more than 256 MiB"
                            : streams_refused_.empty() ? "its tiles do not divide into units of 16 rows"
                                                       : streams_refused_;
    throw_graph_error(where_, std::string("option \"decoding\": ") + info_.path + " cannot be decoded as " +
                                  decoding_name(d) + " (" + why + ")");
  }
  forced_ = d;
  set_up_decoding(dataset(), d);
}

void RasterReader::set_up_decoding(GDALDatasetH ds, Decoding d) {
  blocks_.reset();
  decoder_.reset();
  streams_ = nullptr;
  decoding_ = d;
  const BlockRows::Layout layout{info_.width, info_.height, info_.block_width, info_.block_height, info_.type};
  if (d == Decoding::block_rows) {
    spdlog::debug("{}: {} is decoded a whole row of blocks at a time", where_, info_.path);
    decoder_ = std::make_unique<GdalBlockDecoder>([this] { return band(); }, info_.block_height, info_.height, where_,
                                                  info_.path);
    blocks_ = std::make_unique<BlockRows>(layout, *decoder_, where_, info_.path, 1);
    return;
  }
  if (d == Decoding::gdal_cache) return;
  std::string why;
  auto streams = TiffTileStreams::open(
      ds, info_.path, info_.band, where_, &why, d == Decoding::streams ? 32 : 16,
      d == Decoding::zlib_streams ? TiffTileStreams::Inflater::zlib : TiffTileStreams::Inflater::isal);
  if (!streams) throw_io_error(where_, "cannot decode " + info_.path + " in streams any more: " + why);
  streams_ = streams.get();
  decoder_ = std::make_unique<StreamBlockDecoder>(std::move(streams));
  blocks_ = std::make_unique<BlockRows>(layout, *decoder_, where_, info_.path, stream_rows_kept(d));
}

GDALDatasetH RasterReader::dataset() {
  auto& handle = handles_.local();
  if (!handle) {
    handle = open();
    if (!handle) throw_io_error(where_, "cannot reopen " + info_.path + ": " + last_gdal_error("unknown error"));
  }
  return get(handle);
}

GDALDatasetH RasterReader::warper_dataset() {
  if (warper_vrt_.empty()) return dataset();
  auto& handle = warper_handles_.local();
  if (!handle) {
    handle.reset(GDALOpen(warper_vrt_.c_str(), GA_ReadOnly));
    if (!handle)
      throw_io_error(where_, "cannot open " + info_.path + " through a VRT: " + last_gdal_error("unknown error"));
  }
  return get(handle);
}

GDALRasterBandH RasterReader::band() { return GDALGetRasterBand(dataset(), info_.band); }

BlockRows::Hold RasterReader::hold(std::int64_t row0, std::int64_t row1) {
  return blocks_ ? blocks_->hold(row0, row1) : BlockRows::Hold{};
}

std::size_t RasterReader::padded_width() const {
  // Rows of blocks are held whole: the last block column is full width.
  const std::int64_t bw = std::max(1, info_.block_width);
  return static_cast<std::size_t>((info_.width + bw - 1) / bw * bw);
}

void RasterReader::prepare(int threads, std::uint64_t memory_limit) {
  threads_ = threads;
  // Whichever way the file is read, a block is decoded whole somewhere (GDAL's cache, a row
  // of blocks, the check of the streams): a file whose blocks alone would take half the memory
  // limit is refused before anything is allocated for them.
  const std::uint64_t bytes = block_bytes();
  if (memory_limit > 0 && bytes > memory_limit / 2) {
    throw_graph_error(where_, "option \"path\": " + info_.path + " is stored in blocks of " +
                                  std::to_string(info_.block_width) + " x " + std::to_string(info_.block_height) + " " +
                                  GDALGetDataTypeName(info_.type) + " samples (" + format_size(bytes) +
                                  " each); decoding one needs more than half the memory limit (" +
                                  format_size(memory_limit) + ")");
  }
}

std::uint64_t RasterReader::block_bytes() const {
  std::uint64_t bytes = 0;
  const auto bw = static_cast<std::uint64_t>(std::max(1, info_.block_width));
  const auto bh = static_cast<std::uint64_t>(std::max(1, info_.block_height));
  if (__builtin_mul_overflow(bw * bh, static_cast<std::uint64_t>(GDALGetDataTypeSizeBytes(info_.type)), &bytes)) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  return bytes;
}

std::size_t RasterReader::decoded_rows_bytes() const { return blocks_ ? strategy_bytes(decoding_) : 0; }

void RasterReader::read(const PixelWindow& w, double* out) {
  if (w.empty()) return;
  if (blocks_) {
    blocks_->read(w.col0, w.row0, w.cols, w.rows, out);
  } else {
    read_through_gdal(w, out);
  }
  if (info_.signed_byte) {
    for (std::int64_t i = 0; i < w.cells(); ++i) {
      if (out[i] > 127.0) out[i] -= 256.0;
    }
  }
}

void RasterReader::read_native(const PixelWindow& w, std::byte* out) {
  if (w.empty()) return;
  if (blocks_) {
    blocks_->read_native(w.col0, w.row0, w.cols, w.rows, out);
    return;
  }
  if (GDALRasterIO(band(), GF_Read, static_cast<int>(w.col0), static_cast<int>(w.row0), static_cast<int>(w.cols),
                   static_cast<int>(w.rows), out, static_cast<int>(w.cols), static_cast<int>(w.rows), info_.type, 0,
                   0) != CE_None) {
    fail_gdal_read(w);
  }
}

void RasterReader::read_through_gdal(const PixelWindow& w, double* out) {
  const CPLErr err = GDALRasterIO(band(), GF_Read, static_cast<int>(w.col0), static_cast<int>(w.row0),
                                  static_cast<int>(w.cols), static_cast<int>(w.rows), out, static_cast<int>(w.cols),
                                  static_cast<int>(w.rows), GDT_Float64, 0, 0);
  if (err != CE_None) fail_gdal_read(w);
}

void RasterReader::fail_gdal_read(const PixelWindow& w) const {
  // GDAL names the block it failed on ("IReadBlock failed at X offset 1, Y offset 1"); the
  // rows of blocks read are named too, as the other strategies name them.
  const std::int64_t bh = std::max(1, info_.block_height);
  const std::int64_t first = w.row0 / bh;
  const std::int64_t last = (w.row0 + w.rows - 1) / bh;
  const std::string blocks = first == last ? "block row " + std::to_string(first)
                                           : "block rows " + std::to_string(first) + "-" + std::to_string(last);
  throw_io_error(where_, "reading " + info_.path + " rows " + std::to_string(w.row0) + "-" +
                             std::to_string(w.row0 + w.rows - 1) + " (" + blocks + " (rows " +
                             std::to_string(first * bh) + "-" +
                             std::to_string(std::min(info_.height, (last + 1) * bh) - 1) +
                             ")) through GDAL's cache failed: " + last_gdal_error("read error"));
}

SourceFootprint RasterReader::footprint(const std::string& grid_crs) const {
  SourceFootprint fp;
  fp.crs = info_.crs;
  const auto& gt = info_.gt;
  const double xs[2] = {gt[0],
                        gt[0] + static_cast<double>(info_.width) * gt[1] + static_cast<double>(info_.height) * gt[2]};
  const double ys[2] = {gt[3],
                        gt[3] + static_cast<double>(info_.width) * gt[4] + static_cast<double>(info_.height) * gt[5]};
  const Extent native{std::min(xs[0], xs[1]), std::min(ys[0], ys[1]), std::max(xs[0], xs[1]), std::max(ys[0], ys[1])};
  if (grid_crs.empty() || same_crs(grid_crs, info_.crs)) {
    fp.extent = native;
    if (gt[2] == 0.0 && gt[4] == 0.0) fp.resolution = std::array<double, 2>{std::fabs(gt[1]), std::fabs(gt[5])};
    return fp;
  }
  if (info_.crs.empty()) {
    throw_graph_error(where_,
                      "option \"path\": " + info_.path + " has no CRS, so it cannot be placed on the grid's CRS");
  }
  const SrsPtr src = make_srs(info_.crs);
  const SrsPtr dst = make_srs(grid_crs);
  if (!src || !dst) throw_graph_error(where_, "the CRS of " + info_.path + " is not understood by GDAL");
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(get(src), get(dst));
  if (ct == nullptr) {
    throw_graph_error(where_, "GDAL cannot transform the CRS of " + info_.path + " into the grid's CRS (" +
                                  last_gdal_error("no transformation") + ")");
  }
  double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
  const int ok =
      OCTTransformBounds(ct, native.xmin, native.ymin, native.xmax, native.ymax, &xmin, &ymin, &xmax, &ymax, 21);
  OCTDestroyCoordinateTransformation(ct);
  if (!ok) throw_graph_error(where_, "the extent of " + info_.path + " cannot be transformed into the grid's CRS");
  fp.extent = {xmin, ymin, xmax, ymax};
  return fp;
}

std::vector<std::string> RasterReader::describe() const {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s band %d: %lld x %lld %s%s, pixel %.9g x %.9g, nodata %s", info_.path.c_str(),
                info_.band, static_cast<long long>(info_.width), static_cast<long long>(info_.height),
                GDALGetDataTypeName(info_.type), info_.signed_byte ? " (signed: Int8)" : "", info_.gt[1], -info_.gt[5],
                info_.nodata ? std::to_string(*info_.nodata).c_str() : "none");
  std::vector<std::string> lines{buf};
  const auto mib = [](std::size_t bytes) { return std::to_string((bytes + (std::size_t{1} << 19)) >> 20) + " MiB"; };
  std::string line = std::string("decoding: ") + decoding_name(decoding_) + ", " + decoding_description(decoding_);
  if (streams_) {
    line += " in " + std::to_string(streams_->tiles_across()) + " tile columns of " +
            std::to_string(info_.block_width) + " x " + std::to_string(info_.block_height);
  } else if (blocks_) {
    line += " (" + std::to_string(info_.block_width) + " x " + std::to_string(info_.block_height) + ")";
  }
  if (blocks_) line += ", up to " + mib(decoded_rows_bytes());
  if (forced_) {
    line += "; chosen by the decoding option";
  } else {
    const auto ladder = decoding_ladder();
    line += ladder.empty() || ladder.front().kind == decoding_
                ? "; the fastest this file allows"
                : std::string("; for the memory limit (") + decoding_name(ladder.front().kind) + " would hold " +
                      mib(ladder.front().bytes) + ")";
  }
  lines.push_back(line);
  if (const auto next = next_decoding()) {
    char cost[32];
    std::snprintf(cost, sizeof cost, "%.1f", next->cost / measured_cost(decoding_));
    lines.push_back(std::string("a tighter limit would switch to ") + decoding_name(next->kind) + " (" +
                    (next->kind == Decoding::gdal_cache ? std::string("nothing held") : "up to " + mib(next->bytes)) +
                    ", " + cost + " x the CPU)");
  }
  if (!streams_shape_.available && !streams_refused_.empty()) lines.push_back("not in streams: " + streams_refused_);
  return lines;
}

std::shared_ptr<RasterReader> reader_of(const Node& input, const std::string& where) {
  const auto* source = dynamic_cast<const ReaderSource*>(&input);
  if (source == nullptr)
    throw_graph_error(where,
                      "field \"inputs\": node \"" + input.id() + "\" (" + input.type() + ") hands no raster reader");
  return source->reader();
}

}  // namespace rasterflow::nodes
