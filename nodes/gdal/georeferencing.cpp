#include "nodes/gdal/georeferencing.hpp"

#include <cpl_string.h>
#include <gdal_alg.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

namespace {

std::string exact_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

bool has_geotransform(GDALDatasetH ds) {
  GeoTransform gt{};
  return GDALGetGeoTransform(ds, gt.data()) == CE_None;
}

bool has_rpc(GDALDatasetH ds) {
  char** md = GDALGetMetadata(ds, "RPC");
  GDALRPCInfoV2 info;
  return md != nullptr && GDALExtractRPCInfoV2(md, &info) != 0;
}

// What the file has, for messages: "a geotransform, 12 GCPs".
std::string what_it_has(GDALDatasetH ds) {
  std::string out;
  const auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  if (has_geotransform(ds)) add("a geotransform");
  if (const int n = GDALGetGCPCount(ds); n > 0) add(std::to_string(n) + (n == 1 ? " GCP" : " GCPs"));
  if (has_rpc(ds)) add("RPC metadata");
  return out.empty() ? "no geotransform, GCPs or RPCs" : out;
}

GeorefKind kind_of(const std::string& name) {
  if (name == "geotransform") return GeorefKind::geotransform;
  if (name == "gcp_polynomial") return GeorefKind::gcp_polynomial;
  if (name == "gcp_tps") return GeorefKind::gcp_tps;
  return GeorefKind::rpc;
}

// gdalwarp's choice without -tps/-rpc/-geoloc (GDALCreateGenImgProjTransformer2 without METHOD).
std::optional<GeorefKind> auto_kind(GDALDatasetH ds) {
  if (has_geotransform(ds)) return GeorefKind::geotransform;
  if (GDALGetGCPCount(ds) > 0) return GeorefKind::gcp_polynomial;
  if (has_rpc(ds)) return GeorefKind::rpc;
  return std::nullopt;
}

bool file_has(GDALDatasetH ds, GeorefKind k) {
  switch (k) {
    case GeorefKind::geotransform:
      return has_geotransform(ds);
    case GeorefKind::gcp_polynomial:
    case GeorefKind::gcp_tps:
      return GDALGetGCPCount(ds) > 0;
    case GeorefKind::rpc:
      return has_rpc(ds);
  }
  return false;
}

// The order GDAL's GCP transformer fits when asked for 0 (gdal_crs.cpp): 1 below 6 GCPs, else 2.
int fitted_order(int requested, int gcps) {
  if (requested > 0) return requested;
  return gcps >= 6 ? 2 : 1;
}

}  // namespace

const char* georef_kind_name(GeorefKind k) {
  switch (k) {
    case GeorefKind::geotransform:
      return "geotransform";
    case GeorefKind::gcp_polynomial:
      return "gcp_polynomial";
    case GeorefKind::gcp_tps:
      return "gcp_tps";
    case GeorefKind::rpc:
      return "rpc";
  }
  return "?";
}

std::vector<std::string> transformer_choices() { return {"auto", "geotransform", "gcp_polynomial", "gcp_tps", "rpc"}; }

Georeferencing find_georeferencing(GDALDatasetH ds, const GeorefRequest& request, const std::string& where,
                                   const std::string& path) {
  const auto kind = request.transformer == "auto" ? auto_kind(ds) : std::optional{kind_of(request.transformer)};
  if (!kind) {
    throw_graph_error(where,
                      "option \"path\": " + path + " has no geotransform, GCPs or RPCs (it is not georeferenced)");
  }
  if (!file_has(ds, *kind)) {
    throw_graph_error(where, "option \"transformer\": " + std::string(georef_kind_name(*kind)) + " needs " +
                                 (*kind == GeorefKind::geotransform ? "a geotransform"
                                  : *kind == GeorefKind::rpc        ? "RPC metadata"
                                                                    : "GCPs") +
                                 ", and " + path + " has " + what_it_has(ds));
  }
  Georeferencing g;
  g.kind = *kind;
  if (request.gcp_order != 0 && g.kind != GeorefKind::gcp_polynomial) {
    throw_graph_error(where, "option \"gcp_order\": applies to the gcp_polynomial transformer only, and " + path +
                                 " is read through " + georef_kind_name(g.kind));
  }
  if (g.by_geotransform()) return g;
  g.gcp_count = GDALGetGCPCount(ds);
  g.gcp_order = fitted_order(request.gcp_order, g.gcp_count);
  g.order_requested = request.gcp_order > 0;
  g.rpc_height = request.rpc_height;
  g.rpc_dem = request.rpc_dem.value_or("");
  if (g.kind == GeorefKind::rpc) {
    g.crs = SRS_WKT_WGS84_LAT_LONG;  // as gdalwarp -rpc
  } else if (const char* wkt = GDALGetGCPProjection(ds); wkt != nullptr) {
    g.crs = wkt;
  }
  return g;
}

std::string Georeferencing::describe() const {
  const std::string count = std::to_string(gcp_count) + " GCPs";
  switch (kind) {
    case GeorefKind::geotransform:
      return "georeferenced by its geotransform";
    case GeorefKind::gcp_polynomial:
      return "georeferenced by GCPs: polynomial of order " + std::to_string(gcp_order) + " fitted to " + count +
             " (transformer gcp_polynomial, as gdalwarp" +
             (order_requested ? " -order " + std::to_string(gcp_order) : std::string(" without -order")) + ")";
    case GeorefKind::gcp_tps:
      return "georeferenced by GCPs: thin plate spline through " + count + " (transformer gcp_tps, as gdalwarp -tps)";
    case GeorefKind::rpc:
      return "georeferenced by RPCs at height " + exact_number(rpc_height) +
             (rpc_dem.empty() ? std::string() : " above the DEM " + rpc_dem) + " (transformer rpc, as gdalwarp -rpc)";
  }
  return {};
}

std::vector<std::string> Georeferencing::transformer_options(const std::string& src_crs,
                                                             const std::string& dst_crs) const {
  std::vector<std::string> out;
  if (!src_crs.empty()) out.push_back("SRC_SRS=" + src_crs);
  if (!dst_crs.empty()) out.push_back("DST_SRS=" + dst_crs);
  switch (kind) {
    case GeorefKind::geotransform:
      out.emplace_back("METHOD=GEOTRANSFORM");
      break;
    case GeorefKind::gcp_polynomial:
      out.emplace_back("METHOD=GCP_POLYNOMIAL");
      out.push_back("MAX_GCP_ORDER=" + std::to_string(gcp_order));
      break;
    case GeorefKind::gcp_tps:
      out.emplace_back("METHOD=GCP_TPS");
      break;
    case GeorefKind::rpc:
      out.emplace_back("METHOD=RPC");
      out.push_back("RPC_HEIGHT=" + exact_number(rpc_height));
      if (!rpc_dem.empty()) out.push_back("RPC_DEM=" + rpc_dem);
      break;
  }
  return out;
}

TransformerPtr gcp_rpc_transformer(GDALDatasetH ds, const Georeferencing& g, const std::string& src_crs,
                                   const std::string& dst_crs, const GeoTransform* dst_gt) {
  const auto options = g.transformer_options(src_crs, dst_crs);
  std::vector<char*> list;
  for (const auto& o : options) list.push_back(const_cast<char*>(o.c_str()));
  list.push_back(nullptr);
  TransformerPtr t(GDALCreateGenImgProjTransformer2(ds, nullptr, list.data()));
  if (t && dst_gt != nullptr) {
    GeoTransform gt = *dst_gt;
    GDALSetGenImgProjTransformerDstGeoTransform(t.get(), gt.data());
  }
  return t;
}

namespace {
double round_if_close(double v) {
  const double r = std::round(v);
  return std::fabs(r - v) < 1e-6 ? r : v;
}
// Source pixels of the window along one axis, as ComputeSourceWindow's raw size.
double raw_size(double lo, double hi, std::int64_t size) {
  const double clamped_start = std::floor(std::max(0.0, lo));
  return std::max(0.0, std::min(static_cast<double>(size) - clamped_start, hi - lo));
}
}  // namespace

std::optional<std::array<double, 2>> whole_grid_kernel_scale(void* transformer, std::int64_t dst_width,
                                                             std::int64_t dst_height, std::int64_t src_width,
                                                             std::int64_t src_height) {
  constexpr int kSteps = 21;
  std::vector<double> x, y, z;
  const double w = static_cast<double>(dst_width), h = static_cast<double>(dst_height);
  const double step = 1.0 / (kSteps - 1);
  for (double r = 0.0; r <= 1.0 + step * 0.5; r += step) {
    for (const auto& [px, py] :
         {std::pair{r * w, 0.0}, std::pair{r * w, h}, std::pair{0.0, r * h}, std::pair{w, r * h}}) {
      x.push_back(px);
      y.push_back(py);
      z.push_back(0.0);
    }
  }
  std::vector<int> ok(x.size(), 0);
  if (!GDALGenImgProjTransform(transformer, TRUE, static_cast<int>(x.size()), x.data(), y.data(), z.data(), ok.data()))
    return std::nullopt;
  double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!ok[i] || std::isnan(x[i]) || std::isnan(y[i])) return std::nullopt;
    x0 = std::min(x0, x[i]), y0 = std::min(y0, y[i]), x1 = std::max(x1, x[i]), y1 = std::max(y1, y[i]);
  }
  const double sx = raw_size(round_if_close(x0), round_if_close(x1), src_width);
  const double sy = raw_size(round_if_close(y0), round_if_close(y1), src_height);
  if (!(sx > 0) || !(sy > 0)) return std::nullopt;
  return std::array<double, 2>{w / sx, h / sy};
}

std::optional<SuggestedOutput> suggested_output(GDALDatasetH ds, void* transformer) {
  SuggestedOutput s;
  double extents[4] = {};
  if (transformer == nullptr || GDALSuggestedWarpOutput2(ds, GDALGenImgProjTransform, transformer, s.gt.data(),
                                                         &s.pixels, &s.lines, extents, 0) != CE_None) {
    return std::nullopt;
  }
  return s;
}

}  // namespace rasterflow::nodes
