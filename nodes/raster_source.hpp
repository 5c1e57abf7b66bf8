#pragma once
// raster_source: one band of a raster file that GDAL can open. It does no work per tile: the
// resample nodes downstream read exactly the source window each tile needs through it, each
// thread with its own dataset handle (GDAL handles are not thread-safe).
#include <oneapi/tbb/enumerable_thread_specific.h>

#include <optional>

#include "nodes/common/block_decoder.hpp"
#include "nodes/common/block_rows.hpp"
#include "nodes/common/gdal.hpp"
#include "nodes/common/planning.hpp"
#include "nodes/common/tiff_tiles.hpp"
#include "rasterflow/node.hpp"
#include "rasterflow/option_binder.hpp"

namespace rasterflow::nodes {

struct RasterSourceOptions {
  std::string path;
  int band = 1;
  std::optional<double> nodata;  // overrides the file's
  void declare(OptionBinder& args);
};

struct RasterInfo {
  std::string path;
  int band = 1;
  std::int64_t width = 0;
  std::int64_t height = 0;
  GeoTransform gt{};
  std::string crs;             // WKT, "" when the file has none
  GDALDataType type = GDT_Unknown;
  std::optional<double> nodata;  // from the file or the node's `nodata` option
  bool signed_byte = false;      // GDAL 3.6's Int8: Byte with PIXELTYPE=SIGNEDBYTE
  int block_width = 0;           // the file's native tiling (strips: width x rows per strip)
  int block_height = 0;
};

class RasterSource final : public Node, public FootprintSource {
 public:
  explicit RasterSource(NodeSpec spec);
  SourceFootprint footprint(const std::string& grid_crs) const override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  std::vector<std::string> describe() const override;
  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;

  const RasterInfo& info() const { return info_; }
  // This thread's handle on the dataset (opened on first use).
  GDALDatasetH dataset();
  GDALRasterBandH band();
  // This thread's handle for GDAL's warper, with its band as band 1 and nodata NaN when
  // `nan_is_only_nodata()` (a floating source with a numeric nodata value is seen through a
  // VRT that turns that value into NaN, so that NaN and nodata are both left out).
  GDALDatasetH warper_dataset();
  int warper_band() const { return warper_vrt_.empty() ? info_.band : 1; }
  bool nan_is_only_nodata() const { return !warper_vrt_.empty(); }
  // Reads `window` of the band as doubles into `out` (row-major, window.cols x window.rows):
  // from the shared decoded block rows, or straight through GDAL when the file's blocks are
  // too large to hold a row of them (then GDAL's cache serves the repeated reads).
  void read(const PixelWindow& window, double* out);
  // Keeps the block rows covering source rows [row0, row1) decoded while the result lives (a
  // tile's reads), so that the strips of one tile never decode a block row twice.
  BlockRows::Hold hold(std::int64_t row0, std::int64_t row1);
  // Bytes of decoded blocks held while reading (two rows of blocks, or the rows of tiles kept
  // and the inflate states when tiles are decoded a few rows at a time), 0 when reads go
  // through GDAL's cache.
  std::size_t decoded_rows_bytes() const;
  // Before the run, when memory is tight: decodes in smaller streams, one step per call: first
  // 16-row units, then zlib's smaller inflate states (each slower than the step before, far
  // faster than GDAL's cache). Returns whether that holds fewer bytes than before (else
  // nothing changes).
  bool compact_decoding();
  // Before the run: gives the decoded block rows up, reading through GDAL's cache instead.
  // Returns whether there were any.
  bool read_through_gdal_cache();
  const BlockRows* block_rows() const { return blocks_.get(); }
  const TiffTileStreams* tile_streams() const { return blocks_ ? streams_ : nullptr; }

 private:
  static constexpr std::size_t kMaxBlockRowBytes = std::size_t{256} << 20;
  // Rows of tiles kept above the highest asked for, for tiles that start late, at most.
  static constexpr std::size_t kStreamKeptBytes = std::size_t{8} << 20;
  void open_source();  // the constructor's work, whose allocation failures it names
  std::uint64_t block_bytes() const;  // one of the file's blocks, decoded (saturating)
  std::size_t padded_width() const;
  // With streams_: bytes of one unit of rows across the band, units kept at most (and as many
  // spare buffers), bytes in all.
  std::size_t unit_row_bytes() const;
  int stream_rows_kept() const;
  std::size_t stream_bytes() const;
  DatasetPtr open() const;
  void set_up_decoding(GDALDatasetH ds, int level);  // 0: 32-row units; 1: 16-row units; 2: and zlib
  void read_through_gdal(const PixelWindow& window, double* out);
  RasterSourceOptions options_;
  RasterInfo info_;
  oneapi::tbb::enumerable_thread_specific<DatasetPtr> handles_;
  std::string warper_vrt_;  // VRT XML, or "" when the file itself is used
  oneapi::tbb::enumerable_thread_specific<DatasetPtr> warper_handles_;
  std::unique_ptr<BlockDecoder> decoder_;  // before blocks_, which calls it
  const TiffTileStreams* streams_ = nullptr;  // decoder_'s, when it decodes in streams
  std::string streams_refused_;               // why the file is not decoded in streams
  int level_ = 0;  // how compact the streams are (set_up_decoding)
  int threads_ = 2;  // the run's, once prepared (streams' tiles held at once)
  std::unique_ptr<BlockRows> blocks_;
};

// The payload a raster_source sends: the source itself (nothing is read yet).
struct SourceRef final : Payload {
  RasterSource* source = nullptr;
  std::size_t bytes() const noexcept override { return 0; }
};

}  // namespace rasterflow::nodes
