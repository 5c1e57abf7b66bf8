#pragma once
// The reading of the bands of a raster dataset that GDAL can open (a file, a container's
// variable, an archive member, an overview level): what raster_source hands the
// nodes that read it (as its payload, and to their prepare() through ReaderSource), so that
// edges carry a reader, not a node to down-cast. Readers read exactly the source window each
// tile needs, each thread with its own dataset handle (GDAL handles are not thread-safe), from
// blocks decoded once and shared (BlockRows over a BlockDecoder) or through GDAL's cache.
#include <oneapi/tbb/enumerable_thread_specific.h>

#include <optional>
#include <string>
#include <vector>

#include "nodes/cf/band_coordinates.hpp"
#include "nodes/cf/grib_units.hpp"
#include "nodes/gdal/gdal.hpp"
#include "nodes/gdal/georeferencing.hpp"
#include "nodes/gdal/planning.hpp"
#include "nodes/gdal/transposed.hpp"
#include "nodes/read/block_decoder.hpp"
#include "nodes/read/block_rows.hpp"
#include "nodes/read/decoding_policy.hpp"
#include "nodes/read/tiff_tiles.hpp"
#include "nodes/read/validity.hpp"
#include "nodes/read/wide_integers.hpp"
#include "rasterflow/node/node.hpp"

namespace rasterflow::nodes {

enum class Overviews { none, automatic };                // full resolution | the level gdalwarp -ovr AUTO reads
enum class IrregularAxes { coordinates, refuse, even };  // what an uneven axis of a NetCDF variable gets

// What raster_source asks of its reader (its options).
struct SourceRequest {
  std::string path;                       // a file or any GDAL dataset name
  std::optional<std::string> variable;    // a container's subdataset, by variable name
  std::vector<std::string> bands{"1"};    // band numbers, or {"all"}
  std::optional<std::string> band_names;  // number | description | coordinates | metadata:KEY (absent: number)
  std::vector<std::string> select;        // "dim=value" items: bands chosen by coordinate value
  std::optional<double> nodata;           // overrides the file's
  std::optional<std::string> crs;         // the source's CRS, overriding the file's (gdalwarp -s_srs)
  bool unpack = true;                     // apply the bands' scale and offset
  Overviews overviews = Overviews::none;
  bool alpha_as_data = false;                          // the alpha band masks nothing (gdalwarp -nosrcalpha)
  bool wrap_longitude = true;                          // a global geographic source is periodic (longitude_wrap.hpp)
  std::optional<bool> grib_normalize_units;            // GDAL's GRIB unit normalisation (absent: GDAL's configuration)
  IrregularAxes irregular_axes = IrregularAxes::even;  // raster_source's option (its default: coordinates)
  GeorefRequest georef;                                // geotransform, GCPs or RPCs (georeferencing.hpp)
};

// One band read.
struct BandInfo {
  int index = 1;                            // 1-based, in the dataset read
  std::string label;                        // what names its column: its number, description or metadata item
  std::optional<double> nodata;             // packed (as stored), from the file or the node's `nodata` option
  std::optional<std::int64_t> wide_nodata;  // Int64/UInt64 (UInt64 as its bits): nodata exactly
  double scale = 1;                         // value = stored * scale + offset, when unpacked
  double offset = 0;
  std::string units;            // of its values (GDAL's unit type, GRIB's unit, netCDF units)
  std::string standard_name;    // CF standard_name ("" when none)
  std::string long_name;        // CF long_name, or GRIB's comment without its unit
  BandCoordinates coordinates;  // along the non-spatial dimensions (time, level)
};

struct RasterInfo {
  std::string path;  // the dataset read (the subdataset when `variable` picked one)
  int band = 1;      // the first band read (bands.front().index)
  std::vector<BandInfo> bands;
  std::vector<std::string> variables;  // the container's variables, when it has several
  std::int64_t width = 0;              // of the level read (an overview with overviews: auto)
  std::int64_t height = 0;
  GeoTransform gt{};  // {0, 1, 0, 0, 0, 1} when GCPs or RPCs place the pixels (georef)
  Georeferencing georef;
  std::string crs;  // WKT, "" when the file has none and no `crs` was given
  bool crs_given = false;
  GDALDataType type = GDT_Unknown;           // as stored
  std::optional<double> nodata;              // the first band's
  bool signed_byte = false;                  // GDAL 3.6's Int8: Byte with PIXELTYPE=SIGNEDBYTE
  bool unpacked = false;                     // values are unpacked (some band has a scale or offset, and unpack is on)
  GDALDataType unpacked_type = GDT_Float64;  // CF: the type of scale_factor/add_offset (Float32 or Float64)
  int block_width = 0;                       // the file's native tiling (strips: width x rows per strip)
  int block_height = 0;
  int overview = -1;  // the overview level read, -1: full resolution
  int overview_count = 0;
  std::string overview_reason;  // why that level (overviews: auto)
  Validity validity;            // masks beyond the nodata values (alpha, per-dataset, per-band)
  // Int64/UInt64: the first value beyond +-2^53 ("band 1 holds ... at column 3, row 2"), which
  // only the exact path (resample_wide.hpp) reads; "" when every value fits a double.
  std::string wide_beyond;
  // Placed by geolocation arrays (geolocation.hpp): GDAL's GEOLOCATION metadata items, and then
  // `gt` is GDAL's default (no geotransform); empty for a source with a geotransform.
  std::vector<std::string> geolocation;
  bool geolocated() const { return !geolocation.empty(); }
  bool transposed = false;     // stored (lon, lat), read transposed (transposed.hpp)
  bool grib = false;           // read by GDAL's GRIB driver
  bool grib_normalize = true;  // with GDAL's GRIB unit normalisation (grib_units.hpp)
  std::string grib_units;      // the plan's line on what that normalisation did
};

class RasterReader final {
 public:
  // Opens the bands `request` asks for; `where` names the node in errors. Throws GraphError
  // (exit 2) for anything that makes the file unreadable.
  RasterReader(SourceRequest request, std::string where);
  RasterReader(const RasterReader&) = delete;
  RasterReader& operator=(const RasterReader&) = delete;
  SourceFootprint footprint(const std::string& grid_crs) const;
  std::vector<std::string> describe() const;
  // Before the run: the threads that will read, and the memory limit (a file whose blocks
  // alone exceed half of it is refused).
  void prepare(int threads, std::uint64_t memory_limit);

  const RasterInfo& info() const { return info_; }
  bool wrap_longitude() const { return request_.wrap_longitude; }
  std::size_t band_count() const { return info_.bands.size(); }
  // What names each band's column after its reader's id: nothing (one plain column) for one
  // band without band_names, else each band's label.
  std::vector<std::string> column_suffixes() const {
    std::vector<std::string> out;
    if (info_.bands.size() == 1 && !request_.band_names) return out;
    for (const auto& b : info_.bands) out.push_back(b.label);
    return out;
  }
  // The type values have once read: the unpacked type CF gives (that of scale_factor/add_offset)
  // when unpacked, else the stored type.
  GDALDataType value_type() const { return info_.unpacked ? info_.unpacked_type : info_.type; }
  // The nodata value the kernels test band k's values against: none when unpacked (nodata
  // became NaN as it was read), else the band's.
  std::optional<double> kernel_nodata(std::size_t k) const {
    return info_.unpacked ? std::nullopt : info_.bands[k].nodata;
  }
  // With overviews: auto, reads the overview level gdalwarp -ovr AUTO would read for `grid`
  // (before the run, before any read).
  void choose_overview(const Grid& grid);
  // Held while this thread reads the source through GDAL: a GRIB source's unit normalisation.
  GribUnitsScope units_scope() const { return GribUnitsScope(info_.grib, info_.grib_normalize); }
  // This thread's handle on the dataset (opened on first use).
  GDALDatasetH dataset();
  GDALRasterBandH band();
  // This thread's handle for GDAL's warper, with its band as band 1 and nodata NaN when
  // `nan_is_only_nodata()` (a floating source with a numeric nodata value is seen through a
  // VRT that turns that value into NaN, so that NaN and nodata are both left out).
  GDALDatasetH warper_dataset();
  int warper_band(std::size_t k = 0) const {
    return warper_vrt_.empty() ? info_.bands[k].index : static_cast<int>(k) + 1;
  }
  bool nan_is_only_nodata() const { return !warper_vrt_.empty(); }
  // The warper's transformer from source pixels (`src_gt`: the geotransform, or that of a
  // periodic copy) to the pixels of `dst_gt` in `dst_crs`; through the GCPs or RPCs when they
  // georeference the source (georeferencing.hpp). Null when GDAL cannot make one.
  TransformerPtr warp_transformer(const std::string& dst_crs, const GeoTransform& dst_gt, const GeoTransform& src_gt);
  // Reads `window` of the band as doubles into `out` (row-major, window.cols x window.rows):
  // from the shared decoded block rows, or straight through GDAL when the file's blocks are
  // too large to hold a row of them (then GDAL's cache serves the repeated reads).
  void read(const PixelWindow& window, double* out);
  // The same in the file's own type (info().type; GDAL 3.6's signed Byte as its bytes), without
  // a conversion pass: `out` holds window.cells() samples of sample_bytes() each. One band
  // read, values as stored (not unpacked): see reads_native().
  void read_native(const PixelWindow& window, std::byte* out);
  int sample_bytes() const { return GDALGetDataTypeSizeBytes(info_.type); }
  // Whether read_native() gives this source's values: one band, not unpacked.
  // (64-bit integers are read as doubles: the kernels have no 64-bit sample type.)
  bool reads_native() const {
    return info_.bands.size() == 1 && !info_.unpacked && !info_.validity.active() && !is_wide_integer(info_.type);
  }
  // The warper's source alpha band (in warper_dataset()), 0 when no alpha band masks.
  int warper_alpha_band() const {
    if (info_.validity.kind != MaskKind::alpha) return 0;
    return warper_vrt_.empty() ? info_.validity.alpha_band : static_cast<int>(info_.bands.size()) + 1;
  }
  // Every band's values over `window`, band after band (band_count() x window.cells()), each
  // block decoded once for all of them.
  void read_bands(const PixelWindow& window, double* out);
  // Blocks decoded for several bands at once (each once for all bands), for tests.
  std::int64_t multi_band_blocks_decoded() const;
  // Keeps the block rows covering source rows [row0, row1) decoded while the result lives (a
  // tile's reads), so that the strips of one tile never decode a block row twice.
  BlockRows::Hold hold(std::int64_t row0, std::int64_t row1);
  // Bytes of decoded blocks held while reading (two rows of blocks, or the rows of tiles kept
  // and the inflate states when tiles are decoded a few rows at a time), 0 when reads go
  // through GDAL's cache.
  std::size_t decoded_rows_bytes() const;
  // How the blocks are decoded now, and the strategies this file allows priced for the run's
  // threads, fastest first (decoding_policy.hpp): the source starts at the first, and each step
  // of the memory planner moves it to the next, which holds fewer bytes.
  Decoding decoding() const { return decoding_; }
  std::vector<DecodingPrice> decoding_ladder() const;
  // The next strategy down the ladder, if any.
  std::optional<DecodingPrice> next_decoding() const;
  // Before the run, when memory is tight: moves one step down the ladder. Returns whether it did.
  bool step_down_decoding();
  // Only `d` (the `decoding` option): refused with the reason when the file does not allow it.
  void force_decoding(Decoding d);
  const BlockRows* block_rows() const { return blocks_.get(); }
  const TiffTileStreams* tile_streams() const { return blocks_ ? streams_ : nullptr; }
  const BlockRows::Stats decoded_stats() const { return blocks_ ? blocks_->stats() : BlockRows::Stats{}; }
  // What a thread keeps between reads of windows of up to `window_cells` pixels: the read
  // stack's thread_local buffers (nodes/read/reader_thread_state.cpp), for the planner.
  std::vector<ResourceNeeds::ThreadState> thread_state(std::uint64_t window_cells) const;
  // What one per-thread GDAL dataset handle on the file keeps (its own structures and libtiff's
  // buffer of one compressed block; decoded blocks are in GDAL's cache, counted apart).
  std::uint64_t handle_bytes() const;
  // The per-thread handles of a read on the warper path (the file's, and the VRT's over it when
  // the warper reads through one), named by the file: every node reading it shares them.
  std::vector<ResourceNeeds::ThreadState> warper_thread_state() const;

 private:
  static constexpr std::size_t kMaxBlockRowBytes = std::size_t{256} << 20;
  // Rows of tiles kept above the highest asked for, for tiles that start late, at most.
  static constexpr std::size_t kStreamKeptBytes = std::size_t{8} << 20;
  void make_warper_vrt();
  void check_wide_integers(GDALDatasetH ds);  // Int64/UInt64: exact nodata, the first value beyond 2^53
  void open_source();                         // the constructor's work, whose allocation failures it names
  DatasetPtr open_checked();                  // the dataset named by the path (and variable), or GraphError
  void check_path_exists();                   // a local file named by the path exists and is no folder
  // The variable the `variable` option names in `ds` (whose subdatasets are `names`).
  DatasetPtr open_variable(DatasetPtr ds, const std::vector<std::string>& names, int bands);
  // Subdataset `name`, now the path read; GraphError of `failure` + name + GDAL's error if unreadable.
  DatasetPtr open_subdataset(const std::string& name, const std::string& failure);
  void select_bands(GDALDatasetH ds);                           // info_.bands from the request
  std::vector<int> band_indices(GDALDatasetH ds) const;         // the bands the `band` option names
  void read_geometry(GDALDatasetH ds);                          // size, geotransform, blocks of the level read
  void append_decoding(std::vector<std::string>& lines) const;  // describe()'s lines on decoding
  // choose_overview's steps: false, with the reason, when overviews: auto cannot apply (or was
  // applied by an earlier reader); then reading overview `level` (`ratio`: pixels per cell, for the plan).
  bool overview_may_apply();
  void read_overview(int level, const std::string& ratio);
  void read_crs(GDALDatasetH ds);           // info_.crs: the file's, its georeferencing's or the option's
  void check_sample_type(GDALDatasetH ds);  // GraphError for complex samples
  void finish_values(std::size_t band, double* values, std::int64_t count) const;  // signed bytes, unpacking
  // Turns the pixels of `window` that the source's masks say are invalid into NaN: band k's
  // values at `values` (validity.hpp). `shared`: the mask was read for an earlier band.
  void apply_validity(std::size_t k, const PixelWindow& window, double* values, bool shared = false);
  std::uint64_t block_bytes() const;  // one of the file's blocks, decoded (saturating)
  std::size_t padded_width() const;
  // What the streams of one strategy would be, found when the file is opened.
  struct StreamShape {
    bool available = false;
    int unit_rows = 0;
    std::size_t state_bytes = 0;
  };
  const StreamShape& shape(Decoding d) const;
  // Bytes a strategy holds: units of rows kept at most (and as many spare buffers), those the
  // threads' tiles hold, and the inflate states; two rows of blocks; nothing through GDAL's cache.
  std::size_t strategy_bytes(Decoding d) const;
  int block_rows_kept(Decoding d) const;
  int stream_rows_kept(Decoding d) const;
  DatasetPtr open() const;
  Extent corner_extent() const;
  SourceFootprint geolocated_footprint(const std::string& grid_crs) const;  // from the geolocation arrays
  SourceFootprint gcp_rpc_footprint(const std::string& grid_crs) const;     // through the GCP/RPC transformer
  std::optional<std::array<double, 2>> suggested_resolution(const std::string& grid_crs) const;
  bool plain_file_ = false;  // a plain local file at full resolution (the only kind the TIFF streams read)
  const GdalBandsDecoder* bands_decoder_ = nullptr;   // decoder_, when several bands share blocks_
  void survey_decoding(GDALDatasetH ds);              // the constructor's: the strategies the file allows
  void set_up_decoding(GDALDatasetH ds, Decoding d);  // builds the decoder of `d`
  void read_through_gdal(const PixelWindow& window, double* out);
  // Names the rows and blocks read, and GDAL's message (its first error, then its last).
  [[noreturn]] void fail_gdal_read(const PixelWindow& window, const std::string& gdal_message) const;
  void find_transposed(GDALDatasetH ds);      // transposed_ for a (lon, lat) NetCDF variable
  void find_irregular_axes(GDALDatasetH ds);  // 1-D geolocation arrays for an uneven axis
  void find_gaussian_grib(GDALDatasetH ds);   // the same for a Gaussian GRIB grid
  std::string irregular_note_;                // the axis and its deviation, for the plan
  std::optional<TransposedVariable> transposed_;
  SourceRequest request_;
  RasterInfo info_;
  oneapi::tbb::enumerable_thread_specific<DatasetPtr> handles_;
  std::string warper_vrt_;  // VRT XML, or "" when the file itself is used
  oneapi::tbb::enumerable_thread_specific<DatasetPtr> warper_handles_;
  std::unique_ptr<BlockDecoder> decoder_;     // before blocks_, which calls it
  const TiffTileStreams* streams_ = nullptr;  // decoder_'s, when it decodes in streams
  std::string where_;
  std::string streams_refused_;  // why the file is not decoded in streams
  Decoding decoding_ = Decoding::gdal_cache;
  std::optional<Decoding> forced_;   // the `decoding` option
  std::size_t block_row_bytes_ = 0;  // one row of the file's blocks, decoded (saturating)
  StreamShape streams_shape_, small_shape_, zlib_shape_;
  int threads_ = 2;  // the run's, once prepared (streams' tiles held at once)
  std::unique_ptr<BlockRows> blocks_;
};

// What raster_source hands the nodes that read it: its reader, before the run (prepare) and
// with every tile (its payload).
class ReaderSource {
 public:
  virtual ~ReaderSource() = default;
  virtual std::shared_ptr<RasterReader> reader() const = 0;
};
// The reader of `input` (a node declaring the "source" output kind), or GraphError naming
// `where` when it has none.
std::shared_ptr<RasterReader> reader_of(const Node& input, const std::string& where);

// The payload a raster_source sends: its reader (nothing is read yet).
struct SourceRef final : Payload {
  static constexpr PayloadType payload_type = PayloadType::source;
  SourceRef() noexcept : Payload(payload_type) {}
  std::shared_ptr<RasterReader> reader;
  std::size_t bytes() const noexcept override { return 0; }
};

}  // namespace rasterflow::nodes
