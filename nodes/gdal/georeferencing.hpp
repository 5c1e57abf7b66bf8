#pragma once
// How a source's pixels are placed on the ground (issue #29): its geotransform, or, for files
// that have none, its ground control points (GCPs, through GDAL's polynomial or thin-plate-spline
// transformer) or its rational polynomial coefficients (RPCs), as gdalwarp places them. Sources
// placed by GCPs or RPCs are read on the warper path only, through GDAL's own transformer with
// the options gdalwarp gives it (-order, -tps, -rpc, -to RPC_HEIGHT, -to RPC_DEM).
#include <optional>
#include <string>
#include <vector>

#include <gdal_alg.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>

#include "nodes/gdal/gdal.hpp"
#include "rasterflow/node/grid.hpp"
#include "rasterflow/node/option_binder.hpp"

namespace rasterflow::nodes {

enum class GeorefKind { geotransform, gcp_polynomial, gcp_tps, rpc };
// Their names: raster_source's option `transformer` (with "auto" before them) and plans.
inline constexpr EnumChoice<GeorefKind> kGeorefKinds[] = {{"geotransform", GeorefKind::geotransform},
                                                          {"gcp_polynomial", GeorefKind::gcp_polynomial},
                                                          {"gcp_tps", GeorefKind::gcp_tps},
                                                          {"rpc", GeorefKind::rpc}};

// What raster_source's options ask: no transformer ("auto") picks as gdalwarp does (a
// geotransform, else GCPs through a polynomial, else RPCs).
struct GeorefRequest {
  std::optional<GeorefKind> transformer;  // absent: auto
  int gcp_order = 0;                      // 0: GDAL's choice by the GCP count (gdalwarp without -order)
  double rpc_height = 0;                  // -to RPC_HEIGHT
  std::optional<std::string> rpc_dem;     // -to RPC_DEM
};

struct Georeferencing {
  GeorefKind kind = GeorefKind::geotransform;
  int gcp_count = 0;
  int gcp_order = 0;             // the order GDAL fits (the requested one, or its choice by the GCP count)
  bool order_requested = false;  // gcp_order given (gdalwarp -order), not GDAL's choice
  double rpc_height = 0;
  std::string rpc_dem;
  std::string crs;  // the GCPs' CRS, WGS 84 for RPCs, "" for a geotransform (the dataset's CRS)
  bool by_geotransform() const { return kind == GeorefKind::geotransform; }
  // For the plan: "GCPs: polynomial of order 2 fitted to 12 GCPs (as gdalwarp's default)".
  std::string describe() const;
  // GDALCreateGenImgProjTransformer2's options, as gdalwarp sets them.
  std::vector<std::string> transformer_options(const std::string& src_crs, const std::string& dst_crs) const;
};

inline const char* georef_kind_name(GeorefKind k) { return enum_name<GeorefKind>(kGeorefKinds, k); }

// How `ds` is georeferenced for `request`; GraphError naming `where`, the option and `path` when
// the file has not what the option asks, or nothing that georeferences it.
Georeferencing find_georeferencing(GDALDatasetH ds, const GeorefRequest& request, const std::string& where,
                                   const std::string& path);

struct TransformerCloser {
  void operator()(void* h) const {
    if (h != nullptr) GDALDestroyGenImgProjTransformer(h);
  }
};
using TransformerPtr = std::unique_ptr<void, TransformerCloser>;

// GDAL's transformer from the pixels of `ds` (placed by `g`, not by a geotransform) to the pixels
// of `dst_gt` in `dst_crs` (georeferenced coordinates when `dst_gt` is null). Null on failure
// (GDAL's last error says why).
TransformerPtr gcp_rpc_transformer(GDALDatasetH ds, const Georeferencing& g, const std::string& src_crs,
                                   const std::string& dst_crs, const GeoTransform* dst_gt);

// The kernel scale (XSCALE, YSCALE) of bilinear and cubic that gdalwarp's warper derives when it
// warps the whole grid (dst_width x dst_height pixels, `transformer` from them to the source's)
// in one chunk: grid pixels per source pixel of the source window it samples along the grid's
// edges (GDALWarpOperation::ComputeSourceWindow, 21 points per edge). Null when a point fails.
std::optional<std::array<double, 2>> whole_grid_kernel_scale(void* transformer, std::int64_t dst_width,
                                                             std::int64_t dst_height, std::int64_t src_width,
                                                             std::int64_t src_height);

// What gdalwarp suggests for `ds` alone through `transformer` (GDALSuggestedWarpOutput2, as
// gdalwarp without -te/-tr): the grid's north-west corner, resolution and size.
struct SuggestedOutput {
  GeoTransform gt{};
  int pixels = 0;
  int lines = 0;
  // A grid of positive resolution and at least one pixel.
  bool has_cells() const { return gt[1] > 0 && pixels > 0 && lines > 0; }
  std::array<double, 2> resolution() const { return {gt[1], std::fabs(gt[5])}; }
  // The grid gdalwarp creates: its corner and whole pixels from it.
  Extent extent() const {
    const auto [rx, ry] = resolution();
    return {gt[0], gt[3] - lines * ry, gt[0] + pixels * rx, gt[3]};
  }
};
// GDAL's suggestion as it gives it; nullopt when it gives none or `transformer` is null.
std::optional<SuggestedOutput> suggested_output(GDALDatasetH ds, void* transformer);

}  // namespace rasterflow::nodes
