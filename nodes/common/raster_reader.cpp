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
  set_up_decoding(get(ds), 0);
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

void RasterReader::set_up_decoding(GDALDatasetH ds, int level) {
  // One row of the file's blocks is decoded once and shared by every thread, unless a row of
  // blocks is so large (e.g. a whole file in one strip) that holding it would cost more than
  // reading through GDAL's cache. A tiled DEFLATE or uncompressed GeoTIFF is decoded a few rows
  // of every tile at a time instead (TiffTileStreams), so memory does not follow its tile height.
  // Units of 32 rows by default (docs/how-it-runs.md says why). Tight memory limits take smaller
  // streams: `level` 1, 16-row units with one kept behind; 2, the same with zlib's inflate (less
  // state per tile column, slower). Either way a BlockDecoder, shared out by BlockRows.
  blocks_.reset();
  decoder_.reset();
  streams_ = nullptr;
  level_ = level;
  const std::string& where = where_;
  if (info_.block_width <= 0 || info_.block_height <= 0) return;
  std::size_t block_row_bytes = 0;  // saturating: the sizes come from the file
  if (__builtin_mul_overflow(
          padded_width(),
          static_cast<std::size_t>(info_.block_height) * static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info_.type)),
          &block_row_bytes)) {
    block_row_bytes = std::numeric_limits<std::size_t>::max();
  }
  std::string& why = streams_refused_;
  auto streams = TiffTileStreams::open(ds, info_.path, info_.band, where, &why, level > 0 ? 16 : 32,
                                       level > 1 ? TiffTileStreams::Inflater::zlib : TiffTileStreams::Inflater::isal);
  if (streams) {
    streams_ = streams.get();
    decoder_ = std::make_unique<StreamBlockDecoder>(std::move(streams));
    // Streams cost their inflate states and the rows of tiles kept: taken when that is less
    // than two whole rows of blocks.
    if (stream_bytes() / 2 >= block_row_bytes) {
      why = "two rows of its blocks cost less than streams would";
      decoder_.reset();
      streams_ = nullptr;
    }
  }
  if (decoder_) {
    blocks_ = std::make_unique<BlockRows>(
        BlockRows::Layout{info_.width, info_.height, info_.block_width, info_.block_height, info_.type}, *decoder_,
        where, info_.path, stream_rows_kept());
    return;
  }
  spdlog::debug("{}: {} is decoded a whole row of blocks at a time: {}", where, info_.path, why);
  if (block_row_bytes <= kMaxBlockRowBytes) {
    decoder_ = std::make_unique<GdalBlockDecoder>([this] { return band(); }, info_.block_height, info_.height, where,
                                                  info_.path);
    blocks_ = std::make_unique<BlockRows>(
        BlockRows::Layout{info_.width, info_.height, info_.block_width, info_.block_height, info_.type}, *decoder_,
        where, info_.path, 1);
  }
}

bool RasterReader::compact_decoding() {
  if (level_ >= 2 || !blocks_) return false;
  const std::size_t before = decoded_rows_bytes();
  const int was = level_;
  // The next level that holds fewer bytes (16-row units may hold no fewer than 32-row ones,
  // when a unit row is so large that one is kept either way; zlib's states still would).
  for (int level = was + 1; level <= 2; ++level) {
    set_up_decoding(dataset(), level);
    if (streams_ && decoded_rows_bytes() < before) return true;
  }
  set_up_decoding(dataset(), was);
  return false;
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

std::size_t RasterReader::unit_row_bytes() const {
  return padded_width() * static_cast<std::size_t>(streams_->unit_rows()) *
         static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info_.type));
}

int RasterReader::stream_rows_kept() const {
  if (level_ > 0) return 1;
  return static_cast<int>(
      std::clamp<std::size_t>(kStreamKeptBytes / std::max<std::size_t>(1, unit_row_bytes()), 1, 64));
}

std::size_t RasterReader::stream_bytes() const {
  // The units kept behind the highest asked for, the spare buffers, and those the threads'
  // tiles hold (a tile's source rows mostly fall in one unit), then the inflate states.
  const int units = 2 * stream_rows_kept() + std::max(1, threads_);
  return static_cast<std::size_t>(units) * unit_row_bytes() + streams_->state_bytes();
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

std::size_t RasterReader::decoded_rows_bytes() const {
  if (!blocks_) return 0;
  if (streams_) return stream_bytes();
  return 2 * blocks_->row_bytes();
}

bool RasterReader::read_through_gdal_cache() {
  const bool had = blocks_ != nullptr;
  blocks_.reset();
  decoder_.reset();
  streams_ = nullptr;
  return had;
}

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

void RasterReader::read_through_gdal(const PixelWindow& w, double* out) {
  const CPLErr err = GDALRasterIO(band(), GF_Read, static_cast<int>(w.col0), static_cast<int>(w.row0),
                                  static_cast<int>(w.cols), static_cast<int>(w.rows), out, static_cast<int>(w.cols),
                                  static_cast<int>(w.rows), GDT_Float64, 0, 0);
  if (err != CE_None) {
    throw_io_error(where_, "reading " + info_.path + " rows " + std::to_string(w.row0) + "-" +
                               std::to_string(w.row0 + w.rows - 1) + " failed: " + last_gdal_error("read error"));
  }
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
  if (streams_ && blocks_) {
    lines.push_back(
        "decoded " + std::to_string(streams_->unit_rows()) + " rows of every " + std::to_string(info_.block_width) +
        " x " + std::to_string(info_.block_height) + " tile at a time (" + std::to_string(streams_->tiles_across()) +
        (streams_->inflater() == TiffTileStreams::Inflater::zlib ? " zlib inflate streams, for the memory limit"
                                                                 : " inflate streams") +
        "), up to " + mib(decoded_rows_bytes()));
  } else if (blocks_) {
    lines.push_back("decoded a whole row of " + std::to_string(info_.block_width) + " x " +
                    std::to_string(info_.block_height) + " blocks at a time, up to " + mib(decoded_rows_bytes()) +
                    " (not in streams: " + streams_refused_ + ")");
  } else {
    lines.push_back("read through GDAL's block cache");
  }
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
