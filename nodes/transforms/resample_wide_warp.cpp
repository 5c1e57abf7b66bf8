// The warper path on Int64/UInt64 (issue #29): GDAL 3.6's warp kernel reads 64-bit samples as
// doubles, so it is given ranks instead. Per tile, the source window its cells reach is read in
// its own type; its distinct values are sorted, and a MEM band holds each pixel's rank among
// them (exact in a double; nodata pixels -1, the band's nodata). GDAL's warper resamples the
// ranks with the node's selecting method and the same transformer as any tile (offset to the
// window), and each cell takes the value of its rank: the pixel gdalwarp selects, every digit.
#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdalwarper.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nodes/read/library_diagnostics.hpp"
#include "nodes/transforms/resample.hpp"
#include "nodes/transforms/resample_kernels.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {
namespace {

// The tile's rows of the grid transformer, and source pixel coordinates relative to a window.
struct WindowTransformer {
  void* grid = nullptr;
  double row0 = 0;
  double col_off = 0;
  double row_off = 0;
};

int transform_window(void* arg, int dst_to_src, int count, double* x, double* y, double* z, int* ok) {
  auto* t = static_cast<WindowTransformer*>(arg);
  if (dst_to_src) {
    for (int i = 0; i < count; ++i) y[i] += t->row0;
    const int result = GDALGenImgProjTransform(t->grid, TRUE, count, x, y, z, ok);
    for (int i = 0; i < count; ++i) x[i] -= t->col_off, y[i] -= t->row_off;
    return result;
  }
  for (int i = 0; i < count; ++i) x[i] += t->col_off, y[i] += t->row_off;
  const int result = GDALGenImgProjTransform(t->grid, FALSE, count, x, y, z, ok);
  for (int i = 0; i < count; ++i) y[i] -= t->row0;
  return result;
}

// A MEM dataset of one Float64 band over `data` (not copied).
DatasetPtr mem_band(std::int64_t width, std::int64_t height, double* data) {
  DatasetPtr ds(GDALCreate(GDALGetDriverByName("MEM"), "", static_cast<int>(width), static_cast<int>(height), 0,
                           GDT_Float64, nullptr));
  char pointer_option[64];
  std::snprintf(pointer_option, sizeof pointer_option, "DATAPOINTER=%p", static_cast<void*>(data));
  char* band_options[] = {pointer_option, nullptr};
  GDALAddBand(get(ds), GDT_Float64, band_options);
  return ds;
}

// The source pixels the cells of the tile reach (their corners and centres, through the
// transformer), with two pixels of margin, clipped to the source; empty when none.
PixelWindow reached_window(void* grid, const TileRequest& tile, std::int64_t src_w, std::int64_t src_h) {
  double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
  std::vector<double> x, y, z;
  std::vector<int> ok;
  for (std::int64_t r = 0; r <= 2 * tile.rows; ++r) {
    const auto n = static_cast<std::size_t>(2 * tile.width + 1);
    x.resize(n), y.assign(n, static_cast<double>(tile.row0) + 0.5 * static_cast<double>(r)), z.assign(n, 0);
    ok.assign(n, 0);
    for (std::size_t c = 0; c < n; ++c) x[c] = 0.5 * static_cast<double>(c);
    GDALGenImgProjTransform(grid, TRUE, static_cast<int>(n), x.data(), y.data(), z.data(), ok.data());
    for (std::size_t c = 0; c < n; ++c) {
      if (!ok[c] || !std::isfinite(x[c]) || !std::isfinite(y[c])) continue;
      lo_x = std::min(lo_x, x[c]), hi_x = std::max(hi_x, x[c]);
      lo_y = std::min(lo_y, y[c]), hi_y = std::max(hi_y, y[c]);
    }
  }
  PixelWindow w;
  if (!(lo_x <= hi_x)) return w;
  w.col0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(lo_x)) - 2, 0, src_w);
  w.row0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(lo_y)) - 2, 0, src_h);
  w.cols = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(hi_x)) + 3, 0, src_w) - w.col0;
  w.rows = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(hi_y)) + 3, 0, src_h) - w.row0;
  if (w.cols <= 0 || w.rows <= 0) w = PixelWindow{};
  return w;
}

// Each pixel's rank among the distinct values of `bits` (compared as `T`), -1 for nodata;
// `distinct` gets the values by rank.
template <typename T>
void rank_values(const std::vector<std::int64_t>& bits, std::optional<std::int64_t> nodata,
                 std::vector<std::int64_t>& distinct, std::vector<double>& ranks) {
  std::vector<T> sorted;
  sorted.reserve(bits.size());
  for (const std::int64_t b : bits) {
    if (!(nodata && b == *nodata)) sorted.push_back(static_cast<T>(b));
  }
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  distinct.assign(sorted.begin(), sorted.end());
  ranks.resize(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) {
    const bool skip = nodata && bits[i] == *nodata;
    ranks[i] = skip ? -1.0
                    : static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), static_cast<T>(bits[i])) -
                                          sorted.begin());
  }
}

}  // namespace

void Resample::warp_wide(const TileRequest& tile, std::span<Column* const> out) {
  const auto& info = reader_->info();
  const TransformerPtr grid = reader_->warp_transformer(grid_.crs, grid_.geotransform(), info.gt);
  if (!grid) throw_node_error(where(), "GDAL cannot transform the source into the grid: " + last_gdal_error("none"));
  const PixelWindow w = reached_window(grid.get(), tile, info.width, info.height);
  if (w.empty()) return;  // stays nodata
  std::vector<std::int64_t> bits(static_cast<std::size_t>(w.cells()));
  reader_->read_native(w, reinterpret_cast<std::byte*>(bits.data()));
  std::vector<std::int64_t> distinct;
  std::vector<double> ranks;
  const auto nodata = info.bands[0].wide_nodata;
  if (info.type == GDT_Int64) {
    rank_values<std::int64_t>(bits, nodata, distinct, ranks);
  } else {
    rank_values<std::uint64_t>(bits, nodata, distinct, ranks);
  }
  std::vector<double> cell_ranks(static_cast<std::size_t>(tile.cells()), std::numeric_limits<double>::quiet_NaN());
  warp_ranks(tile, w, grid.get(), ranks, cell_ranks);
  Column& column = *out[0];
  for (std::size_t i = 0; i < cell_ranks.size(); ++i) {
    const double r = cell_ranks[i];
    const bool ok = !std::isnan(r) && r >= 0 && r < static_cast<double>(distinct.size());
    column.integers[i] = ok ? distinct[static_cast<std::size_t>(r)] : 0;
    column.valid[i] = ok ? 1 : 0;
  }
}

void Resample::warp_ranks(const TileRequest& tile, const PixelWindow& w, void* grid, std::vector<double>& ranks,
                          std::vector<double>& cell_ranks) const {
  const DatasetPtr src = mem_band(w.cols, w.rows, ranks.data());
  const DatasetPtr dst = mem_band(tile.width, tile.rows, cell_ranks.data());
  WindowTransformer transformer{grid, static_cast<double>(tile.row0), static_cast<double>(w.col0),
                                static_cast<double>(w.row0)};
  GDALWarpOptions* options = GDALCreateWarpOptions();
  options->hSrcDS = get(src);
  options->hDstDS = get(dst);
  options->nBandCount = 1;
  options->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int)));
  options->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int)));
  options->panSrcBands[0] = options->panDstBands[0] = 1;
  options->eResampleAlg = static_cast<GDALResampleAlg>(gdal_resample_alg());
  options->eWorkingDataType = GDT_Float64;
  options->dfWarpMemoryLimit = kWarpMemory;
  options->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
  options->padfSrcNoDataReal[0] = -1.0;
  options->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
  options->padfDstNoDataReal[0] = std::numeric_limits<double>::quiet_NaN();
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "INIT_DEST", "NO_DATA");
  options->pfnTransformer = transform_window;
  options->pTransformerArg = &transformer;
  GDALWarpOperationH operation = GDALCreateWarpOperation(options);
  const GdalErrors errors;
  const CPLErr err = operation == nullptr ? CE_Failure
                                          : GDALChunkAndWarpImage(operation, 0, 0, static_cast<int>(tile.width),
                                                                  static_cast<int>(tile.rows));
  if (operation != nullptr) GDALDestroyWarpOperation(operation);
  GDALDestroyWarpOptions(options);
  if (err != CE_None) {
    throw_io_error(where(), "resampling rows " + std::to_string(tile.row0) + "-" +
                                std::to_string(tile.row0 + tile.rows - 1) + " of " + reader_->info().path +
                                " (64-bit values, as ranks) failed: " + errors.text("warp error"));
  }
}

}  // namespace rasterflow::nodes
