#include "nodes/transforms/resample.hpp"

#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdalwarper.h>

#include <cmath>
#include <limits>

#include "nodes/gdal/longitude_wrap.hpp"
#include "nodes/gdal/warp_validity.hpp"
#include "nodes/read/library_diagnostics.hpp"
#include "nodes/read/signed_bytes.hpp"
#include "nodes/transforms/resample_kernels.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"

namespace rasterflow::nodes {
namespace {

// The methods' names (gdalwarp's; "med" is gdalwarp's other name of median): the method option's
// choices, its reference and method_name().
constexpr EnumChoice<Method> kMethods[] = {
    {"nearest", Method::nearest}, {"bilinear", Method::bilinear},
    {"cubic", Method::cubic},     {"average", Method::average},
    {"sum", Method::sum},         {"min", Method::min},
    {"max", Method::max},         {"median", Method::median},
    {"mode", Method::mode},       {"q1", Method::q1},
    {"q3", Method::q3},           {"rms", Method::rms},
    {"med", Method::median},
};

constexpr EnumChoice<Implementation> kImplementations[] = {
    {"auto", Implementation::automatic}, {"fast", Implementation::fast}, {"warper", Implementation::warper}};

GDALResampleAlg gdal_alg(Method m) {
  switch (m) {
    case Method::nearest:
      return GRA_NearestNeighbour;
    case Method::bilinear:
      return GRA_Bilinear;
    case Method::cubic:
      return GRA_Cubic;
    case Method::average:
      return GRA_Average;
    case Method::sum:
      return GRA_Sum;
    case Method::min:
      return GRA_Min;
    case Method::max:
      return GRA_Max;
    case Method::median:
      return GRA_Med;
    case Method::mode:
      return GRA_Mode;
    case Method::q1:
      return GRA_Q1;
    case Method::q3:
      return GRA_Q3;
    case Method::rms:
      return GRA_RMS;
  }
  return GRA_NearestNeighbour;
}

}  // namespace

namespace {

// Maps the pixels of a tile (a band of rows starting at `row0`) through a transformer built
// for the whole target grid, so that every cell sees exactly the coordinates gdalwarp computes
// for it on the full grid, whatever the tile height.
struct TileTransformer {
  void* grid_transformer = nullptr;
  double row0 = 0;
};

int transform_tile(void* arg, int dst_to_src, int count, double* x, double* y, double* z, int* ok) {
  auto* t = static_cast<TileTransformer*>(arg);
  if (dst_to_src) {
    for (int i = 0; i < count; ++i) y[i] += t->row0;
    return GDALGenImgProjTransform(t->grid_transformer, TRUE, count, x, y, z, ok);
  }
  const int result = GDALGenImgProjTransform(t->grid_transformer, FALSE, count, x, y, z, ok);
  for (int i = 0; i < count; ++i) y[i] -= t->row0;
  return result;
}

struct WarpOptionsCloser {
  void operator()(GDALWarpOptions* o) const { GDALDestroyWarpOptions(o); }
};
struct WarpOperationCloser {
  void operator()(void* h) const {
    if (h != nullptr) GDALDestroyWarpOperation(static_cast<GDALWarpOperationH>(h));
  }
};

}  // namespace

std::optional<Method> parse_method(const std::string& name) { return enum_value<Method>(kMethods, name); }

const char* method_name(Method m) { return enum_name<Method>(kMethods, m); }

bool is_blending(Method m) {
  return m == Method::average || m == Method::sum || m == Method::rms || m == Method::bilinear || m == Method::cubic;
}

ValueKind output_kind(Method m, GDALDataType source_type) {
  // gdalwarp's output keeps the source's type (a Float32 source gives a Float32 average, as in
  // xarray); integer sources blend into Float64 (as NumPy's mean does), never rounded back.
  if (source_type == GDT_Float32) return ValueKind::float32;
  if (is_blending(m)) return ValueKind::float64;
  if (source_type == GDT_Float64) return ValueKind::float64;
  return ValueKind::integer;
}

std::string Resample::column_type() const {
  if (!reader_) return {};
  // Unpacked values have the type CF gives them (Float32 or Float64), not the stored one.
  switch (output_kind(method_, reader_->value_type())) {
    case ValueKind::float32:
      return "Float32";
    case ValueKind::float64:
      return "Float64";
    case ValueKind::integer:
      break;
  }
  return GDALGetDataTypeName(reader_->value_type());
}

std::vector<ColumnMetadata> Resample::column_metadata() const {
  std::vector<ColumnMetadata> out;
  if (!reader_) return out;
  for (const auto& b : reader_->info().bands) {
    ColumnMetadata m{.units = b.units, .standard_name = b.standard_name, .long_name = b.long_name, .variable = id()};
    for (const auto& c : b.coordinates) {
      if (c.dimension != "time" || !c.time) continue;
      m.time = c.value;
      m.time_units = c.units;
      m.time_calendar = c.calendar;
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Resample::metric_tags() const {
  std::string units;
  for (const auto& m : column_metadata()) {
    if (m.units.empty() || ("," + units + ",").find("," + m.units + ",") != std::string::npos) continue;
    units += (units.empty() ? "" : ",") + m.units;
  }
  if (units.empty()) return {};
  return {{"units", units}};
}

void ResampleOptions::declare(OptionBinder& args) {
  args.add("method", "gdalwarp resampling method", method, Method::nearest, kMethods);
  args.add("implementation",
           "auto: the fast block reduction when the grid is aligned on whole source pixels of the same CRS, else "
           "GDAL's warper",
           implementation, Implementation::automatic, kImplementations);
}

void ResampleOptions::validate(const std::string& where) const {
  if (implementation == Implementation::fast && !fast_path_supports(method)) {
    throw_graph_error(where, std::string("option \"implementation\": the fast path does not apply: ") +
                                 method_name(method) + " reads neighbouring pixels");
  }
}

Resample::Resample(NodeSpec spec)
    : Node(std::move(spec)), options_(bind_options<ResampleOptions>(this->spec())), method_(options_.method) {}

namespace {
// The integer nearest to `value` when it is within `tolerance` of it.
std::optional<std::int64_t> near_integer(double value, double tolerance) {
  const double r = std::round(value);
  if (std::fabs(value - r) > tolerance) return std::nullopt;
  return static_cast<std::int64_t>(r);
}
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

std::string Resample::fast_path_refusal() const {
  const auto& info = reader_->info();
  const auto& gt = info.gt;
  if (info.geolocated())
    return "the source is placed by geolocation arrays (2-D latitude/longitude, or the true coordinates of an "
           "uneven axis), through GDAL's geolocation transformer (SRC_METHOD=GEOLOC_ARRAY, as gdalwarp -geoloc)";
  if (!info.georef.by_geotransform()) return "the source is " + info.georef.describe();
  if (!fast_path_supports(method_)) return std::string(method_name(method_)) + " reads neighbouring pixels";
  if (!same_crs(grid_.crs, info.crs)) return "the source's CRS differs from the grid's";
  if (gt[2] != 0.0 || gt[4] != 0.0 || gt[1] <= 0.0 || gt[5] >= 0.0) return "the source is rotated or not north-up";
  const double rx = grid_.res_x / gt[1];
  const double ry = grid_.res_y / -gt[5];
  const auto kx = near_integer(rx, 1e-9 * rx);
  const auto ky = near_integer(ry, 1e-9 * ry);
  if (rx < 1.0 && ry < 1.0) {  // upsampling: whole cells per source pixel?
    const auto mx = near_integer(1.0 / rx, 1e-9 / rx);
    const auto my = near_integer(1.0 / ry, 1e-9 / ry);
    if (!mx || !my)
      return "a source pixel is " + short_number(1.0 / rx) + " x " + short_number(1.0 / ry) +
             " cells, not a whole number";
    if (!upsampling_supports(method_)) return "sum over a part of a source pixel needs its covered fraction";
    const double cx = (gt[0] - grid_.x0) / grid_.res_x;
    const double cy = (grid_.y0 - gt[3]) / grid_.res_y;
    if (!near_integer(cx, 1e-6) || !near_integer(cy, 1e-6)) {
      return "the source's corner is not on a grid cell corner (offset " + short_number(cx) + ", " + short_number(cy) +
             " cells)";
    }
    return {};
  }
  if (!kx || !ky || *kx < 1 || *ky < 1) {
    return "the cell is " + short_number(rx) + " x " + short_number(ry) + " source pixels, not a whole number";
  }
  const double ox = (grid_.x0 - gt[0]) / gt[1];
  const double oy = (gt[3] - grid_.y0) / -gt[5];
  if (!near_integer(ox, 1e-6) || !near_integer(oy, 1e-6)) {
    return "the grid's corner is not on a source pixel corner (offset " + short_number(ox) + ", " + short_number(oy) +
           " pixels)";
  }
  return {};
}

void Resample::prepare(const RunContext& ctx, std::span<Node* const> inputs) {
  reader_ = reader_of(*inputs[0], where());
  grid_ = ctx.grid;
  reader_->choose_overview(grid_);
  suffixes_ = reader_->column_suffixes();
  const auto fp = reader_->footprint(grid_.crs);
  source_extent_ = fp.extent;
  measure_scales(fp);
  wrap_ = wraps_longitude(*reader_);
  const std::string refusal = fast_path_refusal();
  if (options_.implementation == Implementation::fast && !refusal.empty()) {
    throw_graph_error(where(), "option \"implementation\": the fast path does not apply: " + refusal);
  }
  choose_path(refusal);
  if (reader_->info().geolocated()) prepare_geolocation();
  prepare_signed_bytes(refusal);
  refuse_on_warper(refusal);
}

void Resample::measure_scales(const SourceFootprint& fp) {
  const auto& info = reader_->info();
  if (fp.resolution) {
    pixels_per_cell_ = std::max(1.0, (grid_.res_x / (*fp.resolution)[0]) * (grid_.res_y / (*fp.resolution)[1]));
  } else {
    const double src_area =
        source_extent_.width() * source_extent_.height() / static_cast<double>(info.width * info.height);
    pixels_per_cell_ = std::max(1.0, grid_.res_x * grid_.res_y / std::max(src_area, 1e-300));
  }
  const double src_px = source_extent_.width() / static_cast<double>(info.width);
  const double src_py = source_extent_.height() / static_cast<double>(info.height);
  xscale_ = src_px / grid_.res_x;
  yscale_ = src_py / grid_.res_y;
  if ((info.gt[2] != 0.0 || info.gt[4] != 0.0) && same_crs(grid_.crs, info.crs)) {
    // Rotated or sheared: cells per source pixel along the source's own axes (the full affine).
    xscale_ = std::hypot(info.gt[1] / grid_.res_x, info.gt[4] / grid_.res_y);
    yscale_ = std::hypot(info.gt[2] / grid_.res_x, info.gt[5] / grid_.res_y);
  }
  if (!info.georef.by_geotransform()) {
    // GCPs or RPCs: the scale gdalwarp's warper derives for the whole grid in one chunk.
    const TransformerPtr t = reader_->warp_transformer(grid_.crs, grid_.geotransform(), info.gt);
    if (const auto s =
            t ? whole_grid_kernel_scale(t.get(), grid_.width, grid_.height, info.width, info.height) : std::nullopt) {
      xscale_ = (*s)[0];
      yscale_ = (*s)[1];
    }
  }
}

void Resample::choose_path(const std::string& refusal) {
  const auto& info = reader_->info();
  fast_ = refusal.empty() && options_.implementation != Implementation::warper;
  upsample_ = fast_ && grid_.res_x < info.gt[1] * (1 - 1e-9) && grid_.res_y < -info.gt[5] * (1 - 1e-9);
  if (upsample_) {
    mx_ = *near_integer(info.gt[1] / grid_.res_x, 1e-6);
    my_ = *near_integer(-info.gt[5] / grid_.res_y, 1e-6);
    cells_x_ = *near_integer((info.gt[0] - grid_.x0) / grid_.res_x, 1e-6);
    cells_y_ = *near_integer((grid_.y0 - info.gt[3]) / grid_.res_y, 1e-6);
    path_reason_ = "fast (each source pixel gives " + std::to_string(mx_) + " x " + std::to_string(my_) + " cells)";
  } else if (fast_) {
    kx_ = *near_integer(grid_.res_x / info.gt[1], 1e-6);
    ky_ = *near_integer(grid_.res_y / -info.gt[5], 1e-6);
    offset_x_ = *near_integer((grid_.x0 - info.gt[0]) / info.gt[1], 1e-6);
    offset_y_ = *near_integer((info.gt[3] - grid_.y0) / -info.gt[5], 1e-6);
    path_reason_ =
        "fast (block reduction of " + std::to_string(kx_) + " x " + std::to_string(ky_) + " source pixels per cell)";
  } else {
    path_reason_ = "warper (GDAL's warp kernel per tile): " +
                   (refusal.empty() ? std::string("forced by option implementation") : refusal);
  }
  if (wrap_) path_reason_ += "; the source spans 360 degrees of longitude: read as periodic (wrap_longitude)";
}

void Resample::prepare_signed_bytes(const std::string& refusal) {
  const auto& info = reader_->info();
  if (!info.signed_byte || fast_) return;
  if (info.unpacked) {
    throw_graph_error(where(),
                      "the source is packed Int8 (signed bytes with a scale or offset), which GDAL 3.6's warper "
                      "reads as unsigned; only the fast path (same CRS, grid aligned on whole source pixels) "
                      "handles it, or give the raster_source \"unpack\": false: " +
                          (refusal.empty() ? std::string("implementation is warper") : refusal));
  }
  if (info.transposed) {
    throw_graph_error(where(), info.path +
                                   " is Int8 stored (lon, lat): its signed bytes cannot be read transposed on the "
                                   "warper path; use a grid aligned on its pixels (the fast path)");
  }
  signed_vrt_ = signed_byte_vrt(info);
  path_reason_ += "; Int8 read through a VRT of signed values (GDAL 3.6's warper reads signed bytes as unsigned)";
}

void Resample::refuse_on_warper(const std::string& refusal) const {
  const auto& info = reader_->info();
  if (!fast_ && method_ == Method::mode && is_wide_integer(info.type)) {
    // GDAL 3.6's warper takes the mode of 32-bit floats: 64-bit values would lose digits.
    throw_graph_error(where(), "option \"method\": mode on the warper path reads " + info.path + "'s " +
                                   GDALGetDataTypeName(info.type) +
                                   " values as 32-bit floats (GDAL 3.6's mode kernel), losing their digits; the fast "
                                   "path (same CRS, grid aligned on whole source pixels) takes them exactly: " +
                                   (refusal.empty() ? std::string("implementation is warper") : refusal));
  }
  if (!fast_ && (wrap_ || !signed_vrt_.empty()) && info.validity.kind == MaskKind::alpha) {
    // The periodic and signed-byte VRTs carry no alpha band: refused rather than read as valid.
    // Masks are read from the source itself by the warper's chunk processor (warp_validity.hpp),
    // its columns modulo the width for a periodic source.
    throw_graph_error(where(),
                      info.path +
                          " has an alpha band, which the warper path does not combine "
                          "with " +
                          (wrap_ ? std::string("longitude wrap yet (give the raster_source \"wrap_longitude\": "
                                               "false, or a grid aligned on its pixels for the fast path)")
                                 : std::string("signed bytes yet (use a grid aligned on its pixels)")));
  }
}

namespace {

using WarpOptionsPtr = std::unique_ptr<GDALWarpOptions, WarpOptionsCloser>;

// A MEM dataset of the tile's rows on the grid whose Float64 bands are the columns' values (not
// copied: the warp writes the tile's cells in place).
// `alpha` (tile cells, or null): a last band for the warper's destination alpha.
DatasetPtr tile_dataset(const Grid& grid, const TileRequest& tile, std::span<Column* const> columns, double* alpha) {
  GDALDriverH mem = GDALGetDriverByName("MEM");
  DatasetPtr dst(
      GDALCreate(mem, "", static_cast<int>(tile.width), static_cast<int>(tile.rows), 0, GDT_Float64, nullptr));
  const auto add_band = [&](double* data) {
    char pointer_option[64];
    std::snprintf(pointer_option, sizeof pointer_option, "DATAPOINTER=%p", static_cast<void*>(data));
    char* band_options[] = {pointer_option, nullptr};
    GDALAddBand(get(dst), GDT_Float64, band_options);
  };
  for (Column* column : columns) add_band(column->values.data());
  if (alpha != nullptr) add_band(alpha);
  GeoTransform tile_gt = grid.geotransform();
  tile_gt[3] = grid.y0 - static_cast<double>(tile.row0) * grid.res_y;
  GDALSetGeoTransform(get(dst), tile_gt.data());
  GDALSetProjection(get(dst), grid.crs.c_str());
  return dst;
}

// Options for warping band `src_band` of `src` into the one Float64 band of `dst` with `alg`,
// in Float64: source pixels equal to `src_nodata` (when set; NaN: NaN only) are left out, cells
// that nothing reaches stay NaN. The transformer is the caller's to set.
WarpOptionsPtr warp_options(GDALDatasetH src, const std::vector<int>& src_bands, GDALDatasetH dst, GDALResampleAlg alg,
                            const std::vector<std::optional<double>>& src_nodata) {
  WarpOptionsPtr options(GDALCreateWarpOptions());
  const std::size_t n = src_bands.size();
  options->hSrcDS = src;
  options->hDstDS = dst;
  options->nBandCount = static_cast<int>(n);
  options->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int) * n));
  options->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int) * n));
  for (std::size_t k = 0; k < n; ++k) {
    options->panSrcBands[k] = src_bands[k];
    options->panDstBands[k] = static_cast<int>(k) + 1;
  }
  options->eResampleAlg = alg;
  options->eWorkingDataType = GDT_Float64;
  options->dfWarpMemoryLimit = Resample::kWarpMemory;
  // Bands without a nodata value among bands with one: NaN, which no stored value equals.
  if (std::any_of(src_nodata.begin(), src_nodata.end(), [](const auto& v) { return v.has_value(); })) {
    options->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * n));
    for (std::size_t k = 0; k < n; ++k)
      options->padfSrcNoDataReal[k] = src_nodata[k].value_or(std::numeric_limits<double>::quiet_NaN());
  }
  options->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * n));
  for (std::size_t k = 0; k < n; ++k) options->padfDstNoDataReal[k] = std::numeric_limits<double>::quiet_NaN();
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "INIT_DEST", "NO_DATA");
  return options;
}

// The kernel scale of bilinear and cubic (see Resample::xscale_).
void set_kernel_scale(GDALWarpOptions& options, double xscale, double yscale) {
  char scale[32];
  std::snprintf(scale, sizeof scale, "%.17g", xscale);
  options.papszWarpOptions = CSLSetNameValue(options.papszWarpOptions, "XSCALE", scale);
  std::snprintf(scale, sizeof scale, "%.17g", yscale);
  options.papszWarpOptions = CSLSetNameValue(options.papszWarpOptions, "YSCALE", scale);
}

// As gdalwarp with its destination alpha (band `dst_alpha`): cells start at 0 (a partly
// transparent pixel's value is weighed against a destination of density 0; NaN * 0 would make
// it NaN), and the destination alpha says which were written.
void use_destination_alpha(GDALWarpOptions& options, int src_alpha, int dst_alpha) {
  set_warp_alpha(options, src_alpha, dst_alpha);
  CPLFree(options.padfDstNoDataReal);
  options.padfDstNoDataReal = nullptr;
  options.papszWarpOptions = CSLSetNameValue(options.papszWarpOptions, "INIT_DEST", "0");
}

// NaN in every column where the destination alpha says nothing was written.
void clear_unwritten(const std::vector<double>& dst_alpha, std::span<Column* const> out) {
  for (std::size_t i = 0; i < dst_alpha.size(); ++i) {
    if (dst_alpha[i] == 0.0) {
      for (Column* column : out) column->values[i] = std::numeric_limits<double>::quiet_NaN();
    }
  }
}

}  // namespace

GDALDatasetH Resample::signed_dataset() {
  auto& handle = signed_handles_.local();
  if (!handle) {
    quiet_library_diagnostics();
    handle.reset(GDALOpen(signed_vrt_.c_str(), GA_ReadOnly));
    if (!handle)
      throw_io_error(where(), "cannot open " + reader_->info().path +
                                  " as signed bytes through a VRT: " + last_gdal_error("unknown error"));
  }
  return get(handle);
}

void Resample::warp(const TileRequest& tile, std::span<Column* const> out) {
  const auto& info = reader_->info();
  // An alpha band that masks: a destination alpha too, as gdalwarp adds one (-dstalpha), so that
  // partly transparent pixels are written, not blended into the destination's nodata.
  const int src_alpha = reader_->warper_alpha_band();
  thread_local std::vector<double> dst_alpha;
  if (src_alpha > 0) dst_alpha.assign(static_cast<std::size_t>(tile.cells()), 0.0);
  const DatasetPtr dst = tile_dataset(grid_, tile, out, src_alpha > 0 ? dst_alpha.data() : nullptr);

  const WarpSource src = warp_source();
  TransformerPtr grid_transformer;
  if (!info.geolocated()) grid_transformer = reader_->warp_transformer(grid_.crs, grid_.geotransform(), src.gt);
  void* transformer = info.geolocated() ? geoloc_transformer() : grid_transformer.get();
  if (transformer == nullptr)
    throw_node_error(where(), "GDAL cannot transform the source into the grid: " + last_gdal_error("no transformer"));
  TileTransformer tile_transformer{transformer, static_cast<double>(tile.row0)};

  const WarpOptionsPtr options = warp_options(src.ds, src.bands, get(dst), gdal_alg(method_), warp_nodata());
  if (method_ == Method::bilinear || method_ == Method::cubic) set_kernel_scale(*options, xscale_, yscale_);
  options->pfnTransformer = transform_tile;
  options->pTransformerArg = &tile_transformer;
  if (src_alpha > 0) use_destination_alpha(*options, src_alpha, static_cast<int>(out.size()) + 1);
  ChunkMasks masks{reader_->dataset(), info.validity, {}, {}, wrap_ ? info.width : 0};
  for (const auto& b : info.bands) masks.bands.push_back(b.index);
  set_warp_masks(*options, masks);

  std::unique_ptr<void, WarpOperationCloser> operation(GDALCreateWarpOperation(options.get()));
  if (!operation) throw_node_error(where(), "GDAL refused the warp: " + last_gdal_error("invalid warp options"));
  const GdalErrors errors;
  const GribUnitsScope units = reader_->units_scope();
  const CPLErr err = GDALChunkAndWarpImage(static_cast<GDALWarpOperationH>(operation.get()), 0, 0,
                                           static_cast<int>(tile.width), static_cast<int>(tile.rows));
  if (err != CE_None) {
    throw_io_error(where(), "resampling rows " + std::to_string(tile.row0) + "-" +
                                std::to_string(tile.row0 + tile.rows - 1) + " of " + info.path +
                                " failed: " + (masks.error.empty() ? errors.text("warp error") : masks.error));
  }
  if (src_alpha > 0) clear_unwritten(dst_alpha, out);
}

Resample::WarpSource Resample::warp_source() {
  const auto& info = reader_->info();
  WarpSource src;
  src.ds = signed_vrt_.empty() ? reader_->warper_dataset() : signed_dataset();
  src.gt = info.gt;
  src.bands.resize(reader_->band_count());
  for (std::size_t k = 0; k < src.bands.size(); ++k)
    src.bands[k] = signed_vrt_.empty() ? reader_->warper_band(k) : static_cast<int>(k) + 1;
  if (wrap_) {
    src.periodic = periodic_dataset(src.ds, src.bands, info.gt, info.width, info.height, src.gt);
    src.ds = get(src.periodic);
    for (std::size_t k = 0; k < src.bands.size(); ++k) src.bands[k] = static_cast<int>(k) + 1;
  }
  return src;
}

std::vector<std::optional<double>> Resample::warp_nodata() const {
  const auto& info = reader_->info();
  // Signed bytes through their VRT: nodata became NaN, as in a floating source.
  const bool nan_nodata = reader_->nan_is_only_nodata() || !signed_vrt_.empty();
  const bool is_float = info.type == GDT_Float32 || info.type == GDT_Float64 || nan_nodata;
  std::vector<std::optional<double>> src_nodata(reader_->band_count());
  for (std::size_t k = 0; k < src_nodata.size(); ++k) {
    const auto& nodata = info.bands[k].nodata;
    if (nodata || is_float) {
      src_nodata[k] = nodata && !nan_nodata ? *nodata : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return src_nodata;
}

namespace {
// The kernels' sample type of a source (GDAL 3.6's signed Byte is Int8 read as bytes).
SampleType sample_type_of(const RasterInfo& info) {
  switch (info.type) {
    case GDT_Byte:
      return info.signed_byte ? SampleType::i8 : SampleType::u8;
#if GDAL_VERSION_NUM >= 3070000
    case GDT_Int8:
      return SampleType::i8;
#endif
    case GDT_UInt16:
      return SampleType::u16;
    case GDT_Int16:
      return SampleType::i16;
    case GDT_UInt32:
      return SampleType::u32;
    case GDT_Int32:
      return SampleType::i32;
    case GDT_Float32:
      return SampleType::f32;
    default:
      return SampleType::f64;
  }
}
}  // namespace

void Resample::read_strip(const PixelWindow& w, bool native, std::vector<double>& buffer) {
  // One band as stored: its own type, no conversion pass. Several bands, or unpacked values:
  // doubles, band after band. A periodic source: its columns modulo its width.
  thread_local std::vector<double> wrapped_piece;
  if (wrap_) {
    read_wrapped(*reader_, w, native, buffer, wrapped_piece);
  } else if (native) {
    const auto sample_bytes = static_cast<std::size_t>(reader_->sample_bytes());
    buffer.resize((static_cast<std::size_t>(w.cells()) * sample_bytes + sizeof(double) - 1) / sizeof(double));
    reader_->read_native(w, reinterpret_cast<std::byte*>(buffer.data()));
  } else {
    buffer.resize(static_cast<std::size_t>(w.cells()) * reader_->band_count());
    reader_->read_bands(w, buffer.data());
  }
}

void Resample::reduce(const TileRequest& tile, std::span<Column* const> out) {
  const auto& info = reader_->info();
  // Source rows are read in strips of whole cell rows, so the buffer stays small (about
  // kStripPixels) whatever the tile size.
  const std::int64_t row_pixels = std::max<std::int64_t>(1, tile.width * kx_ * ky_);
  const std::int64_t strip = std::max<std::int64_t>(1, static_cast<std::int64_t>(kStripPixels) / row_pixels);
  // The strip in the source's own type (doubles as storage, for alignment): the kernels read it
  // without a conversion pass.
  thread_local std::vector<double> buffer;
  thread_local std::vector<double> scratch;
  const SampleType type = sample_type_of(info);
  const bool native = reader_->reads_native();
  const auto held = reader_->hold(offset_y_ + tile.row0 * ky_, offset_y_ + (tile.row0 + tile.rows) * ky_);
  for (std::int64_t r0 = 0; r0 < tile.rows; r0 += strip) {
    const std::int64_t rows = std::min(strip, tile.rows - r0);
    const std::int64_t src_row_first = offset_y_ + (tile.row0 + r0) * ky_;
    const std::int64_t src_col_first = offset_x_;
    PixelWindow w;
    w.col0 = wrap_ ? src_col_first : std::max<std::int64_t>(0, src_col_first);
    w.row0 = std::max<std::int64_t>(0, src_row_first);
    w.cols = (wrap_ ? src_col_first + tile.width * kx_
                    : std::min<std::int64_t>(info.width, src_col_first + tile.width * kx_)) -
             w.col0;
    w.rows = std::min<std::int64_t>(info.height, src_row_first + rows * ky_) - w.row0;
    const auto first_cell = static_cast<std::size_t>(r0 * tile.width);
    const auto cells = static_cast<std::size_t>(rows * tile.width);
    if (w.empty()) continue;  // stays nodata
    read_strip(w, native, buffer);
    BlockLayout layout;
    layout.src_width = w.cols;
    layout.src_height = w.rows;
    layout.x0 = src_col_first - w.col0;
    layout.y0 = src_row_first - w.row0;
    layout.kx = kx_;
    layout.ky = ky_;
    layout.out_width = tile.width;
    layout.out_height = rows;
    if (native) {
      reduce_blocks(method_, type, buffer.data(), layout, info.nodata,
                    std::span<double>(out[0]->values).subspan(first_cell, cells),
                    std::span<std::uint8_t>(out[0]->valid).subspan(first_cell, cells), scratch);
      continue;
    }
    for (std::size_t k = 0; k < out.size(); ++k) {
      const std::span<const double> band(buffer.data() + k * static_cast<std::size_t>(w.cells()),
                                         static_cast<std::size_t>(w.cells()));
      reduce_blocks(method_, band, layout, reader_->kernel_nodata(k),
                    std::span<double>(out[k]->values).subspan(first_cell, cells),
                    std::span<std::uint8_t>(out[k]->valid).subspan(first_cell, cells), scratch);
    }
  }
}

void Resample::expand(const TileRequest& tile, std::span<Column* const> out) {
  const auto& info = reader_->info();
  // Cell (row g, column c) reads source pixel (floor((g - cells_y) / my), floor((c - cells_x) / mx)).
  const std::int64_t rows_per_strip = std::max<std::int64_t>(
      my_, static_cast<std::int64_t>(kStripPixels) / std::max<std::int64_t>(1, tile.width) * my_);
  thread_local std::vector<double> buffer;
  thread_local std::vector<double> wrapped_piece;
  const auto held =
      reader_->hold(floor_div(tile.row0 - cells_y_, my_), floor_div(tile.row0 + tile.rows - 1 - cells_y_, my_) + 1);
  for (std::int64_t r0 = 0; r0 < tile.rows; r0 += rows_per_strip) {
    const std::int64_t rows = std::min(rows_per_strip, tile.rows - r0);
    const std::int64_t g0 = tile.row0 + r0;
    PixelWindow w;
    w.row0 = std::max<std::int64_t>(0, floor_div(g0 - cells_y_, my_));
    w.col0 = wrap_ ? floor_div(-cells_x_, mx_) : std::max<std::int64_t>(0, floor_div(-cells_x_, mx_));
    const std::int64_t row_end = std::min<std::int64_t>(info.height, floor_div(g0 + rows - 1 - cells_y_, my_) + 1);
    const std::int64_t col_last = floor_div(tile.width - 1 - cells_x_, mx_) + 1;
    const std::int64_t col_end = wrap_ ? col_last : std::min<std::int64_t>(info.width, col_last);
    w.rows = row_end - w.row0;
    w.cols = col_end - w.col0;
    if (w.empty()) continue;  // stays nodata
    if (wrap_) {
      read_wrapped(*reader_, w, false, buffer, wrapped_piece);
    } else {
      buffer.resize(static_cast<std::size_t>(w.cells()) * out.size());
      reader_->read_bands(w, buffer.data());
    }
    ExpandLayout layout;
    layout.src_width = w.cols;
    layout.src_height = w.rows;
    layout.x0 = -cells_x_ - w.col0 * mx_;
    layout.y0 = g0 - cells_y_ - w.row0 * my_;
    layout.mx = mx_;
    layout.my = my_;
    layout.out_width = tile.width;
    layout.out_height = rows;
    const auto first = static_cast<std::size_t>(r0 * tile.width);
    const auto cells = static_cast<std::size_t>(rows * tile.width);
    for (std::size_t k = 0; k < out.size(); ++k) {
      const std::span<const double> band(buffer.data() + k * static_cast<std::size_t>(w.cells()),
                                         static_cast<std::size_t>(w.cells()));
      expand_pixels(band, layout, reader_->kernel_nodata(k), std::span<double>(out[k]->values).subspan(first, cells),
                    std::span<std::uint8_t>(out[k]->valid).subspan(first, cells));
      if (method_ == Method::rms) {
        for (std::size_t i = first; i < first + cells; ++i) out[k]->values[i] = std::fabs(out[k]->values[i]);
      }
    }
  }
}

PayloadPtr Resample::process(const TileRequest& tile, std::span<const PayloadPtr>) {
  const std::size_t n = reader_->band_count();
  std::vector<std::shared_ptr<Column>> columns(n);
  std::vector<Column*> out(n);
  const auto cells = static_cast<std::size_t>(tile.cells());
  for (std::size_t k = 0; k < n; ++k) {
    columns[k] = std::make_shared<Column>();
    columns[k]->kind = output_kind(method_, reader_->value_type());
    // Nodata everywhere first; the fast path overwrites every cell its source covers.
    columns[k]->values.assign(cells, std::numeric_limits<double>::quiet_NaN());
    columns[k]->valid.assign(cells, 0);
    out[k] = columns[k].get();
  }
  const Extent band = grid_.band_extent(tile.row0, tile.rows);
  if (upsample_) {
    expand(tile, out);
  } else if (fast_) {
    reduce(tile, out);
  } else if (!intersect(band, source_extent_).empty() ||
             (wrap_ && band.ymin < source_extent_.ymax && band.ymax > source_extent_.ymin)) {
    warp(tile, out);
    for (Column* column : out) {
      for (std::size_t i = 0; i < cells; ++i) column->valid[i] = std::isnan(column->values[i]) ? 0 : 1;
    }
  }
  if (n == 1) return columns.front();
  auto set = std::make_shared<Columns>();
  for (auto& c : columns) set->bands.push_back(std::move(c));
  return set;
}

RowAlignment Resample::row_alignment() const {
  const auto& info = reader_->info();
  const std::int64_t bh = info.block_height;
  if (bh <= 0 || !fast_) return {};  // the warper reads its own chunks
  const double row_bytes = static_cast<double>(info.width) * GDALGetDataTypeSizeBytes(info.type);
  if (upsample_) {
    // Grid row g reads source row floor((g - cells_y) / my): block b starts at cells_y + b * bh * my.
    const std::int64_t rows = bh * my_;
    return {rows, ((cells_y_ % rows) + rows) % rows, row_bytes / static_cast<double>(my_)};
  }
  // Grid row g reads source rows offset_y + g * ky ...: blocks start where that is a multiple of bh.
  if (bh % ky_ != 0 || offset_y_ % ky_ != 0) return {};
  const std::int64_t rows = bh / ky_;
  return {rows, (((-offset_y_ / ky_) % rows) + rows) % rows, row_bytes * static_cast<double>(ky_)};
}

ResourceNeeds Resample::resources() const {
  ResourceNeeds r;
  const std::size_t bands = reader_ != nullptr ? reader_->band_count() : 1;
  r.bytes_per_cell = 9 * bands;  // the output columns: a double and a validity byte per cell and band
  // Fast path: what it reads and works in is kept per thread between tiles (thread_state()).
  // Warper: GDAL's working buffers, bounded by the warp memory limit, and their masks.
  r.per_thread = fast_ ? 0 : static_cast<std::size_t>(1.5 * kWarpMemory);
  if (reader_ == nullptr) return r;
  r.thread_state = thread_state();
  // The fast path reads strips thinner than a block: one row of the source's blocks is read
  // again by the next strips (from the shared decoded rows when the source keeps them, else
  // through GDAL's cache). The warper reads chunks of up to its memory limit.
  const auto& info = reader_->info();
  const auto block_row = static_cast<std::size_t>(std::max(1, info.block_height)) *
                         static_cast<std::size_t>(info.width) *
                         static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info.type)) * bands;
  r.source = info.path + ": " + std::to_string(info.width) + " x " + std::to_string(info.height) + " " +
             GDALGetDataTypeName(info.type) + " in blocks of " + std::to_string(info.block_width) + " x " +
             std::to_string(info.block_height);
  const bool shared_rows = fast_ && reader_->block_rows() != nullptr;
  r.held = shared_rows ? reader_->decoded_rows_bytes() : 0;
  r.reused_cache = fast_ ? (shared_rows ? 0 : block_row) : std::max(block_row, static_cast<std::size_t>(kWarpMemory));
  // The source's decoding strategies down its ladder: those that still share decoded rows, then
  // GDAL's cache, which gives them up.
  if (shared_rows) {
    if (const auto next = reader_->next_decoding()) {
      const bool gives_up = next->kind == Decoding::gdal_cache;
      r.steps.push_back({gives_up ? std::string("read the source through GDAL's block cache")
                                  : std::string("decode the source as ") + decoding_name(next->kind),
                         gives_up, next->cost / measured_cost(reader_->decoding())});
    }
  }
  return r;
}

bool Resample::take_step() { return fast_ && reader_->block_rows() != nullptr && reader_->step_down_decoding(); }

double Resample::input_pixels(std::int64_t row0, std::int64_t rows) const {
  const auto& info = reader_->info();
  const Extent covered = intersect(grid_.band_extent(row0, rows), source_extent_);
  if (covered.empty() || source_extent_.empty()) return 0;
  const double pixel_area =
      source_extent_.width() * source_extent_.height() / static_cast<double>(info.width * info.height);
  return covered.width() * covered.height() / pixel_area;
}

std::vector<std::string> Resample::describe() const {
  std::vector<std::string> lines{std::string("method ") + method_name(method_) + ", path: " + path_reason_};
  if (!suffixes_.empty()) {
    std::string names;
    for (const auto& s : suffixes_) names += (names.empty() ? "" : ", ") + id() + "_" + s;
    lines.push_back("one column per band, each resampled with " + std::string(method_name(method_)) + ": " + names);
  }
  return lines;
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = "resample",
    .description = "Resamples one raster_source onto the graph's grid with gdalwarp's methods.",
    .details = "`resample` follows gdalwarp (GDAL 3.6): the selecting methods (`nearest`, `mode`, `min`, `max`, "
               "`median`, `q1`, `q3`) "
               "keep the source's type (integers print as integers, Float32 as the shortest text that reads back as "
               "the same float). "
               "The blending methods (`average`, `sum`, `rms`, `bilinear`, `cubic`) are computed in double precision "
               "and written in "
               "the source's type when it is floating, as gdalwarp writes them (and as xarray's `mean` keeps a float32 "
               "array float32): "
               "a Float32 source gives Float32 values (the double result rounded to the nearest float, exactly what "
               "gdalwarp stores "
               "in a Float32 output), a Float64 source Float64 values. Over integer sources they write Float64 "
               "(gdalwarp would round "
               "them back to the integer type; we keep the fraction, as NumPy's `mean` does). Nodata source pixels are "
               "left out; a "
               "cell with no valid source pixel is nodata. Floating sources without a nodata value treat NaN as "
               "nodata. `med` is "
               "accepted for `median`.",
    .options = rasterflow::declared_options<rasterflow::nodes::ResampleOptions>(),
    .min_inputs = 1,
    .max_inputs = 1,
    .input_kind = rasterflow::EdgeKind::source,
    .output_kind = rasterflow::EdgeKind::raster,
    .create = rasterflow::create_node<rasterflow::nodes::Resample>,
    .operation = "resample"}))
