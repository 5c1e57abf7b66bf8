#include "nodes/resample.hpp"

#include <gdal_alg.h>
#include <cpl_string.h>
#include <gdalwarper.h>

#include <cmath>
#include <limits>

#include "rasterflow/errors.hpp"
#include "rasterflow/registry.hpp"

namespace rasterflow::nodes {
namespace {

struct MethodName {
  const char* name;
  Method method;
  GDALResampleAlg alg;
};
constexpr MethodName kMethods[] = {
    {"nearest", Method::nearest, GRA_NearestNeighbour}, {"bilinear", Method::bilinear, GRA_Bilinear},
    {"cubic", Method::cubic, GRA_Cubic},                {"average", Method::average, GRA_Average},
    {"sum", Method::sum, GRA_Sum},                      {"min", Method::min, GRA_Min},
    {"max", Method::max, GRA_Max},                      {"median", Method::median, GRA_Med},
    {"mode", Method::mode, GRA_Mode},                   {"q1", Method::q1, GRA_Q1},
    {"q3", Method::q3, GRA_Q3},                         {"rms", Method::rms, GRA_RMS},
};

GDALResampleAlg gdal_alg(Method m) {
  for (const auto& e : kMethods) {
    if (e.method == m) return e.alg;
  }
  return GRA_NearestNeighbour;
}

}  // namespace

std::vector<std::string> method_choices_for_registry() {
  std::vector<std::string> out;
  for (const auto& e : kMethods) out.emplace_back(e.name);
  out.emplace_back("med");
  return out;
}

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

struct TransformerCloser {
  void operator()(void* h) const {
    if (h != nullptr) GDALDestroyGenImgProjTransformer(h);
  }
};
struct WarpOptionsCloser {
  void operator()(GDALWarpOptions* o) const { GDALDestroyWarpOptions(o); }
};
struct WarpOperationCloser {
  void operator()(void* h) const {
    if (h != nullptr) GDALDestroyWarpOperation(static_cast<GDALWarpOperationH>(h));
  }
};

}  // namespace

std::optional<Method> parse_method(const std::string& name) {
  if (name == "med") return Method::median;
  for (const auto& e : kMethods) {
    if (name == e.name) return e.method;
  }
  return std::nullopt;
}

const char* method_name(Method m) {
  for (const auto& e : kMethods) {
    if (e.method == m) return e.name;
  }
  return "?";
}

bool is_blending(Method m) {
  return m == Method::average || m == Method::sum || m == Method::rms || m == Method::bilinear || m == Method::cubic;
}

ValueKind output_kind(Method m, GDALDataType source_type) {
  if (is_blending(m)) return ValueKind::float64;
  if (source_type == GDT_Float32) return ValueKind::float32;
  if (source_type == GDT_Float64) return ValueKind::float64;
  return ValueKind::integer;
}

Resample::Resample(NodeSpec spec) : Node(std::move(spec)) {
  method_ = *parse_method(this->spec().options.str("method"));
}

void Resample::prepare(const RunContext& ctx, std::span<Node* const> inputs) {
  source_ = dynamic_cast<RasterSource*>(inputs[0]);
  if (source_ == nullptr) throw_graph_error(where(), "field \"inputs\": expected a raster_source");
  grid_ = ctx.grid;
  const auto fp = source_->footprint(grid_.crs);
  source_extent_ = fp->extent;
  const auto& info = source_->info();
  if (fp->resolution) {
    pixels_per_cell_ = std::max(1.0, (grid_.res_x / (*fp->resolution)[0]) * (grid_.res_y / (*fp->resolution)[1]));
  } else {
    const double src_area = source_extent_.width() * source_extent_.height() / static_cast<double>(info.width * info.height);
    pixels_per_cell_ = std::max(1.0, grid_.res_x * grid_.res_y / std::max(src_area, 1e-300));
  }
  const double src_px = source_extent_.width() / static_cast<double>(info.width);
  const double src_py = source_extent_.height() / static_cast<double>(info.height);
  xscale_ = src_px / grid_.res_x;
  yscale_ = src_py / grid_.res_y;
  path_reason_ = same_crs(grid_.crs, info.crs) ? "warper (GDAL's warp kernel per tile, same CRS)"
                                               : "warper (GDAL's warp kernel per tile, reprojected from the source's CRS)";
}

void Resample::warp(const TileRequest& tile, Column& out) {
  const auto& info = source_->info();
  GDALDriverH mem = GDALGetDriverByName("MEM");
  DatasetPtr dst(GDALCreate(mem, "", static_cast<int>(tile.width), static_cast<int>(tile.rows), 0, GDT_Float64, nullptr));
  char pointer_option[64];
  std::snprintf(pointer_option, sizeof pointer_option, "DATAPOINTER=%p", static_cast<void*>(out.values.data()));
  char* band_options[] = {pointer_option, nullptr};
  GDALAddBand(get(dst), GDT_Float64, band_options);
  const GeoTransform grid_gt = grid_.geotransform();
  GeoTransform tile_gt = grid_gt;
  tile_gt[3] = grid_.y0 - static_cast<double>(tile.row0) * grid_.res_y;
  GDALSetGeoTransform(get(dst), tile_gt.data());
  GDALSetProjection(get(dst), grid_.crs.c_str());

  GDALDatasetH src = source_->dataset();
  GeoTransform src_gt = info.gt;
  GeoTransform dst_gt = grid_gt;
  std::unique_ptr<void, TransformerCloser> grid_transformer(GDALCreateGenImgProjTransformer3(
      info.crs.empty() ? nullptr : info.crs.c_str(), src_gt.data(), grid_.crs.c_str(), dst_gt.data()));
  if (!grid_transformer) throw_node_error(where(), "GDAL cannot transform the source into the grid: " + last_gdal_error("no transformer"));
  TileTransformer tile_transformer{grid_transformer.get(), static_cast<double>(tile.row0)};

  std::unique_ptr<GDALWarpOptions, WarpOptionsCloser> options(GDALCreateWarpOptions());
  options->hSrcDS = src;
  options->hDstDS = get(dst);
  options->nBandCount = 1;
  options->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int)));
  options->panSrcBands[0] = info.band;
  options->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int)));
  options->panDstBands[0] = 1;
  options->eResampleAlg = gdal_alg(method_);
  options->eWorkingDataType = GDT_Float64;
  options->dfWarpMemoryLimit = 64.0 * 1024 * 1024;
  const bool is_float = info.type == GDT_Float32 || info.type == GDT_Float64;
  if (info.nodata || is_float) {
    options->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
    options->padfSrcNoDataReal[0] = info.nodata ? *info.nodata : std::numeric_limits<double>::quiet_NaN();
  }
  options->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
  options->padfDstNoDataReal[0] = std::numeric_limits<double>::quiet_NaN();
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "INIT_DEST", "NO_DATA");
  char scale[32];
  std::snprintf(scale, sizeof scale, "%.17g", xscale_);
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "XSCALE", scale);
  std::snprintf(scale, sizeof scale, "%.17g", yscale_);
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "YSCALE", scale);
  options->pfnTransformer = transform_tile;
  options->pTransformerArg = &tile_transformer;

  std::unique_ptr<void, WarpOperationCloser> operation(GDALCreateWarpOperation(options.get()));
  if (!operation) throw_node_error(where(), "GDAL refused the warp: " + last_gdal_error("invalid warp options"));
  const CPLErr err = GDALChunkAndWarpImage(static_cast<GDALWarpOperationH>(operation.get()), 0, 0, static_cast<int>(tile.width),
                                           static_cast<int>(tile.rows));
  if (err != CE_None) {
    throw_io_error(where(), "resampling rows " + std::to_string(tile.row0) + "-" + std::to_string(tile.row0 + tile.rows - 1) + " of " +
                                info.path + " failed: " + last_gdal_error("warp error"));
  }
}

PayloadPtr Resample::process(const TileRequest& tile, std::span<const PayloadPtr>) {
  auto column = std::make_shared<Column>();
  column->kind = output_kind(method_, source_->info().type);
  const auto cells = static_cast<std::size_t>(tile.cells());
  column->values.assign(cells, std::numeric_limits<double>::quiet_NaN());
  column->valid.assign(cells, 0);
  const Extent band = grid_.band_extent(tile.row0, tile.rows);
  if (!intersect(band, source_extent_).empty()) {
    warp(tile, *column);
    for (std::size_t i = 0; i < cells; ++i) column->valid[i] = std::isnan(column->values[i]) ? 0 : 1;
  }
  return column;
}

std::vector<std::string> Resample::describe() const {
  return {std::string("method ") + method_name(method_) + ", path: " + path_reason_};
}

std::size_t Resample::estimate_bytes(std::int64_t cells) const {
  // The output column (8 + 1 bytes a cell) and the source window the warper reads.
  return static_cast<std::size_t>(static_cast<double>(cells) * (9.0 + 8.0 * pixels_per_cell_));
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    "resample",
    "Resamples one raster_source onto the graph's grid with gdalwarp's methods.",
    {
        {"method", rasterflow::OptionType::string, "gdalwarp resampling method", std::string("nearest"), false,
         rasterflow::nodes::method_choices_for_registry()},
    },
    1, 1, "source", "raster", false,
    [](rasterflow::NodeSpec spec) { return std::make_unique<rasterflow::nodes::Resample>(std::move(spec)); }}))
