#pragma once
// raster_source: bands of a raster dataset that GDAL can open (a file or any GDAL dataset name). It does no work per
// tile: it hands its reader (nodes/read/raster_reader) to the nodes that read it, which read exactly the source
// window each tile needs.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nodes/gdal/planning.hpp"
#include "nodes/read/raster_reader.hpp"
#include "rasterflow/node/node.hpp"
#include "rasterflow/node/option_binder.hpp"

namespace rasterflow::nodes {

struct RasterSourceOptions {
  std::string path;
  std::optional<std::string> variable;
  std::vector<std::string> band;  // {"1"}, {"1", "3"} or {"all"}
  std::optional<std::string> band_names;
  std::optional<std::vector<std::string>> select;
  std::optional<double> nodata;  // overrides the file's
  std::optional<std::string> crs;
  // Defaults are declared once, in declare().
  bool unpack;
  Overviews overviews;
  enum class Alpha { mask, data } alpha;  // gdalwarp -srcalpha | -nosrcalpha
  bool wrap_longitude;
  std::optional<bool> grib_normalize_units;  // absent: GDAL's configuration (grib_units.hpp)
  IrregularAxes irregular_axes;
  std::optional<GeorefKind> transformer;  // absent: auto (georeferencing.hpp)
  int gcp_order;
  double rpc_height;
  std::optional<std::string> rpc_dem;
  std::optional<Decoding> decoding;  // absent: auto, the fastest that fits the limit (decoding_policy.hpp)
  void declare(OptionBinder& args);
  SourceRequest request() const;

 private:
  // declare()'s groups, in the reference's order: what is read (file, variable, bands), how its
  // values are read, how its pixels are placed and decoded.
  void declare_selection(OptionBinder& args);
  void declare_values(OptionBinder& args);
  void declare_placement(OptionBinder& args);
};

class RasterSource final : public Node, public FootprintSource, public ReaderSource {
 public:
  explicit RasterSource(NodeSpec spec);
  SourceFootprint footprint(const std::string& grid_crs) const override { return reader_->footprint(grid_crs); }
  SourceGrid source_grid() const override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  std::vector<std::string> describe() const override {
    auto lines = reader_->describe();
    if (!axes_note_.empty()) lines.push_back(axes_note_);
    return lines;
  }
  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  std::shared_ptr<RasterReader> reader() const override { return reader_; }

 private:
  RasterSourceOptions options_;
  std::shared_ptr<RasterReader> reader_;
  std::string axes_note_;  // an irregular axis accepted on GDAL's even spacing
};

}  // namespace rasterflow::nodes
