#pragma once
// resample: puts one raster_source onto the target grid, tile by tile, with gdalwarp's
// methods and semantics. The warper path runs GDAL's own warp kernel on each tile with an
// exact transformer (gdalwarp -et 0), so every cell equals what gdalwarp gives on the same grid.
#include <string>

#include "nodes/gdal/geolocation.hpp"
#include "nodes/gdal/planning.hpp"
#include "nodes/read/raster_reader.hpp"
#include "rasterflow/node/node.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/payload.hpp"

namespace rasterflow::nodes {

enum class Method { nearest, bilinear, cubic, average, sum, min, max, median, mode, q1, q3, rms };

// Parses a method name (gdalwarp's, `med` accepted); nullopt when unknown.
std::optional<Method> parse_method(const std::string& name);
const char* method_name(Method m);
// Blending methods produce floating values; selecting ones keep the source's type.
bool is_blending(Method m);
ValueKind output_kind(Method m, GDALDataType source_type);

// Which path resamples: the fast block reduction when it applies, or GDAL's warper.
enum class Implementation { automatic, fast, warper };

struct ResampleOptions {
  Method method;  // defaults in declare()
  Implementation implementation;
  void declare(OptionBinder& args);
  // implementation fast with a method that reads neighbouring pixels: refused before anything runs.
  void validate(const std::string& where) const;
};

class Resample final : public Node, public SourceReader, public ColumnProducer, public ColumnSuffixes {
 public:
  // The GDAL type holding its values exactly: Float32 or Float64 as output_kind() has it, or
  // the source's integer type.
  std::string column_type() const override;
  std::vector<ColumnMetadata> column_metadata() const override;
  // Its columns' units ("K", or "K,degC" for bands in different units), when the source gives them.
  std::vector<std::pair<std::string, std::string>> metric_tags() const override;
  static constexpr std::size_t kStripPixels = 1u << 18;      // fast path: source pixels read at once
  static constexpr double kWarpMemory = 16.0 * 1024 * 1024;  // warper: GDAL's working memory per warp
  explicit Resample(NodeSpec spec);
  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  std::vector<std::string> describe() const override;
  // Memory: its output column per cell, its working buffers per thread, its source's decoded
  // rows held for the run (the fast path), and the steps that hold less: smaller decoding
  // streams, then reading through GDAL's cache.
  ResourceNeeds resources() const override;
  bool take_step() override;
  RowAlignment row_alignment() const override;
  // One suffix per band read when its source reads several (or names them by band_names).
  std::vector<std::string> column_suffixes() const override { return suffixes_; }
  double input_pixels(std::int64_t row0, std::int64_t rows) const override;

 private:
  // Each fills one Column per band of the source (`out`, in the source's band order).
  void warp(const TileRequest& tile, std::span<Column* const> out);
  GDALDatasetH signed_dataset();  // this thread's handle on signed_vrt_
  // The warper's source: this thread's dataset, its bands and geotransform (a periodic copy's
  // when the source wraps, which `periodic` holds).
  struct WarpSource {
    GDALDatasetH ds = nullptr;
    std::vector<int> bands;
    GeoTransform gt{};
    DatasetPtr periodic;
  };
  WarpSource warp_source();
  std::vector<std::optional<double>> warp_nodata() const;  // each band's source nodata for the warper
  void reduce(const TileRequest& tile, std::span<Column* const> out);
  // The fast path's source strip `w` into `buffer` (see reduce).
  void read_strip(const PixelWindow& w, bool native, std::vector<double>& buffer);
  // Why the fast path does not apply ("" when it does).
  std::string fast_path_refusal() const;
  // What a thread keeps between tiles (nodes/transforms/resample_thread_state.cpp).
  std::vector<ResourceNeeds::ThreadState> thread_state() const;
  // prepare's steps: the kernel scales and source pixels per cell from the source's footprint;
  // the fast or warper path (`refusal`: why not the fast one); the signed-byte VRT of the warper
  // path; GraphError for what the warper path cannot read exactly.
  void measure_scales(const SourceFootprint& fp);
  void choose_path(const std::string& refusal);
  void prepare_signed_bytes(const std::string& refusal);
  void refuse_on_warper(const std::string& refusal) const;
  // Int64/UInt64 (resample_wide.cpp): wide_ when the integer kernels read the source exactly;
  // GraphError when another path would lose digits of a value beyond 2^53.
  void prepare_wide(const std::string& refusal);
  std::string wide_refusal(const std::string& refusal) const;  // why not exactly ("" when it does)
  ValueKind column_kind() const;                               // its columns' kind
  bool wide_ = false;
  // The warper path on 64-bit values (resample_wide_warp.cpp): the tile's source window as
  // ranks through GDAL's warper (`grid`: the grid transformer), each cell the value of its rank.
  void warp_wide(const TileRequest& tile, std::span<Column* const> out);
  void warp_ranks(const TileRequest& tile, const PixelWindow& window, void* grid, std::vector<double>& ranks,
                  std::vector<double>& cell_ranks) const;
  int gdal_resample_alg() const;  // GDALResampleAlg of method_

  ResampleOptions options_;
  Method method_ = Method::nearest;
  bool fast_ = false;
  // Fast path geometry: a grid cell is kx x ky source pixels; grid column 0 / row 0 start at
  // source pixel (offset_x, offset_y).
  std::int64_t kx_ = 1, ky_ = 1, offset_x_ = 0, offset_y_ = 0;
  // Upsampling fast path: a source pixel is mx x my cells; the source's corner is
  // (cells_x, cells_y) cells right of and below the grid's corner.
  bool upsample_ = false;
  std::int64_t mx_ = 1, my_ = 1, cells_x_ = 0, cells_y_ = 0;
  void expand(const TileRequest& tile, std::span<Column* const> out);
  // The source is periodic in longitude (longitude_wrap.hpp): the fast path reads its columns
  // modulo its width, the warper three copies side by side.
  bool wrap_ = false;
  // Int8 (GDAL 3.6's signed Byte) for the warper: a VRT of signed values (signed_bytes.hpp),
  // one handle per thread.
  std::string signed_vrt_;
  oneapi::tbb::enumerable_thread_specific<DatasetPtr> signed_handles_;
  // A source placed by geolocation arrays (resample_geolocation.cpp): GDAL's geolocation
  // transformer onto the grid, one per thread (built on first use: it reads the arrays).
  void refuse_unwrapped_globe() const;  // a global geolocated source on the other convention
  void prepare_geolocation();
  void* geoloc_transformer();
  oneapi::tbb::enumerable_thread_specific<std::unique_ptr<GeolocTransformer>> geoloc_;
  std::vector<std::string> suffixes_;
  std::shared_ptr<RasterReader> reader_;  // its input's, handed over at prepare
  Grid grid_;
  Extent source_extent_;        // the source's footprint in the grid's CRS
  double pixels_per_cell_ = 1;  // source pixels read per target cell
  std::string path_reason_;
  // Kernel scale of bilinear/cubic (destination cells per source pixel), fixed for the whole
  // grid: gdalwarp derives it from each chunk's window instead (see docs/how-it-runs.md,
  // "Agreement with gdalwarp").
  double xscale_ = 1;
  double yscale_ = 1;
};

}  // namespace rasterflow::nodes
