#include "nodes/read/tiff_tiles.hpp"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <span>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

namespace {

constexpr std::size_t kReadBytes = 32 * 1024;  // compressed bytes read per call, at most
// What zlib allocates for one inflate stream: its state (7 KiB) and the 32 KiB window.
constexpr std::size_t kZlibStateBytes = 7 * 1024 + 32 * 1024;

std::string text_or(const char* s, const char* fallback) {
  return s != nullptr ? std::string(s) : std::string(fallback);
}

int quiet(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // 1: handled, GDAL's handlers stay out of it

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

// The file's first directory through libtiff, the library GDAL decodes it with, with its
// messages kept to itself, on-demand loading of the tile tables (nothing is sized from them)
// and its own allocations capped.
TiffPtr open_tiff(const std::string& path) {
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  if (options == nullptr) return nullptr;
  TIFFOpenOptionsSetErrorHandlerExtR(options, quiet, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(options, quiet, nullptr);
  TIFFOpenOptionsSetMaxSingleMemAlloc(options, 16 << 20);
  TiffPtr t(TIFFOpenExt(path.c_str(), "rO", options));
  TIFFOpenOptionsFree(options);
  return t;
}

template <typename T>
T tag_or(TIFF* t, ttag_t tag, T fallback) {
  T value = fallback;
  return TIFFGetField(t, tag, &value) == 1 ? value : fallback;
}

// What libtiff applies while decoding that this reader does not do: such files are left to GDAL.
// Returns "" or the tag's value that leaves the file to GDAL.
std::string unsupported_tags(TIFF* t) {
  const auto fill_order = tag_or<std::uint16_t>(t, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
  if (fill_order != FILLORDER_MSB2LSB)
    return "FillOrder " + std::to_string(fill_order) + " (the bits of every byte reversed)";
  const auto photometric = tag_or<std::uint16_t>(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  if (photometric > PHOTOMETRIC_PALETTE) return "photometric interpretation " + std::to_string(photometric);
  const auto orientation = tag_or<std::uint16_t>(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  if (orientation != ORIENTATION_TOPLEFT) return "orientation " + std::to_string(orientation);
  return {};
}

// a * b, or nullopt when it does not fit in 64 bits.
std::optional<std::uint64_t> checked_product(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// RFC 1950's two header bytes as zlib and libdeflate (GDAL's inflaters) accept them: DEFLATE,
// a window of at most 32 KiB, the check bits right and no preset dictionary. ISA-L accepts more
// (any window size), so the header is checked here and both inflaters see the same streams.
bool valid_zlib_header(std::uint8_t cmf, std::uint8_t flg) {
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((static_cast<unsigned>(cmf) << 8) | flg) % 31 == 0 &&
         (flg & 0x20) == 0;
}

// Undoes TIFF predictor 2 on one row: each sample was stored as the difference from the one
// before it, in unsigned integer arithmetic of the sample's width.
template <typename U>
void accumulate_row(std::byte* row, int width) {
  U previous{};
  for (int i = 0; i < width; ++i) {
    U value;
    std::memcpy(&value, row + static_cast<std::size_t>(i) * sizeof(U), sizeof(U));
    value = static_cast<U>(value + previous);
    std::memcpy(row + static_cast<std::size_t>(i) * sizeof(U), &value, sizeof(U));
    previous = value;
  }
}

}  // namespace

struct TiffTileStreams::Column {
  std::mutex mutex;
  // ISA-L's inflate (Debian's libisal): faster than zlib's (docs/how-it-runs.md has the
  // figures); its state (history included) is allocated once.
  std::unique_ptr<inflate_state> z;
  std::unique_ptr<z_stream> zs;  // or zlib's, when memory is tight (and for partly read tiles)
  bool zlib = false;             // the tile being decoded goes through zs
  bool ended = false;            // the tile's stream is complete
  std::int64_t tile = -1;        // the tile being decoded
  std::int64_t next_unit = 0;    // its next unit of rows
  std::uint64_t in_pos = 0;      // file offset of the next compressed byte not consumed yet
  std::uint64_t in_end = 0;
  ~Column() {
    if (zs) inflateEnd(zs.get());
  }
};

std::unique_ptr<TiffTileStreams> TiffTileStreams::open(GDALDatasetH ds, const std::string& path, int band_index,
                                                       std::string where, std::string* why, int max_unit_rows,
                                                       Inflater inflater, bool check) {
  const auto refuse = [&](std::string reason) -> std::unique_ptr<TiffTileStreams> {
    if (why != nullptr) *why = std::move(reason);
    return nullptr;
  };
  const std::string driver = text_or(GDALGetDriverShortName(GDALGetDatasetDriver(ds)), "");
  if (driver != "GTiff") return refuse("not a GeoTIFF (GDAL driver " + driver + ")");
  if (text_or(GDALGetDescription(ds), "") != path) return refuse("not the file itself");
  GDALRasterBandH band = GDALGetRasterBand(ds, band_index);
  if (band == nullptr) return refuse("no band " + std::to_string(band_index));

  std::unique_ptr<TiffTileStreams> s(new TiffTileStreams());
  s->path_ = path;
  s->where_ = std::move(where);
  s->inflater_ = inflater;
  // Each step returns "" or why the file is left to GDAL; later steps rely on the earlier ones.
  std::string reason = s->read_metadata(ds, band, max_unit_rows);
  if (reason.empty()) reason = s->read_header();
  if (reason.empty()) reason = s->read_sizes(band, band_index);
  if (reason.empty() && check) reason = s->check_against_gdal(band);
  if (!reason.empty()) return refuse(std::move(reason));
  return s;
}

std::string TiffTileStreams::read_metadata(GDALDatasetH ds, GDALRasterBandH band, int max_unit_rows) {
  GDALGetBlockSize(band, &tile_width_, &tile_height_);
  // The largest unit that divides the tiles' height: fewer, larger inflate calls (ISA-L keeps
  // its 32 KiB of history by copying it at the end of each call), still a fraction of a tile.
  for (const int rows : {64, 32, 16}) {
    if (rows <= max_unit_rows && tile_height_ > rows && tile_height_ % rows == 0) {
      unit_rows_ = rows;
      break;
    }
  }
  if (unit_rows_ == 0) return "blocks of " + std::to_string(tile_height_) + " rows (nothing to gain)";
  const std::string compression = text_or(GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE"), "NONE");
  if (compression != "DEFLATE" && compression != "NONE") return compression + " compression";
  deflate_ = compression == "DEFLATE";
  // TIFF's predictors belong to the codecs: an uncompressed file stores its samples as they are.
  predictor_ = deflate_ ? std::atoi(text_or(GDALGetMetadataItem(ds, "PREDICTOR", "IMAGE_STRUCTURE"), "1").c_str()) : 1;
  if (predictor_ < 1 || predictor_ > 3) return "predictor " + std::to_string(predictor_);
  const std::string interleave = text_or(GDALGetMetadataItem(ds, "INTERLEAVE", "IMAGE_STRUCTURE"), "BAND");
  if (GDALGetRasterCount(ds) > 1 && interleave != "BAND") return interleave + " interleaving";
  if (GDALGetMetadataItem(band, "NBITS", "IMAGE_STRUCTURE") != nullptr) return "samples not a whole number of bytes";
  type_ = GDALGetRasterDataType(band);
  sample_bytes_ = GDALGetDataTypeSizeBytes(type_);
  if (GDALDataTypeIsComplex(type_) || sample_bytes_ <= 0) return "complex samples";
  if (predictor_ == 3 && !GDALDataTypeIsFloating(type_)) return "predictor 3 on integers";
  return {};
}

std::string TiffTileStreams::read_header() {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return "cannot open the file: " + std::string(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return "cannot stat the file: " + std::string(std::strerror(errno));
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  char order[2] = {0, 0};
  if (::pread(fd_, order, 2, 0) != 2 ||
      !((order[0] == 'I' && order[1] == 'I') || (order[0] == 'M' && order[1] == 'M'))) {
    return "no TIFF byte-order mark";
  }
  const bool big = order[0] == 'M';
  swapped_ = big != (std::endian::native == std::endian::big);
  return {};
}

std::string TiffTileStreams::read_sizes(GDALRasterBandH band, int band_index) {
  const std::int64_t width = GDALGetRasterBandXSize(band);
  const std::int64_t height = GDALGetRasterBandYSize(band);
  height_ = height;
  // Every size below comes from the file: each is bounded before anything is sized from it.
  const auto tile_bytes =
      checked_product(static_cast<std::uint64_t>(tile_width_) * static_cast<std::uint64_t>(tile_height_),
                      static_cast<std::uint64_t>(sample_bytes_));
  if (tile_width_ <= 0 || tile_height_ <= 0 || !tile_bytes || *tile_bytes > kMaxTileBytes) {
    return "blocks of " + std::to_string(tile_width_) + " x " + std::to_string(tile_height_) +
           " samples, larger than the " + std::to_string(kMaxTileBytes >> 20) + " MiB checked here";
  }
  // A unit's bytes go to the inflaters as 32-bit counts (zlib's uInt): bounded by the tile's.
  static_assert(kMaxTileBytes <= std::numeric_limits<std::uint32_t>::max());
  tiles_across_ = (width + tile_width_ - 1) / tile_width_;
  tiles_down_ = (height + tile_height_ - 1) / tile_height_;
  const auto tiles =
      checked_product(static_cast<std::uint64_t>(tiles_across_), static_cast<std::uint64_t>(tiles_down_));
  // Each tile has an offset and a byte count of 4 bytes at least in the file's tables.
  if (!tiles || *tiles > kMaxTiles || *tiles * 8 > file_size_) {
    return "its tile tables claim " + std::to_string(tiles_across_) + " x " + std::to_string(tiles_down_) +
           " tiles, more than " +
           (tiles && *tiles * 8 > file_size_ ? "the file's " + std::to_string(file_size_) + " bytes hold"
                                             : std::to_string(kMaxTiles) + " (checked here)");
  }
  if (std::string layout = read_layout(band_index, *tiles); !layout.empty()) return layout;
  columns_.resize(static_cast<std::size_t>(tiles_across_));
  for (auto& c : columns_) c = std::make_unique<Column>();
  return {};
}

std::string TiffTileStreams::check_against_gdal(GDALRasterBandH band) {
  // GDAL decodes one block of the first row of blocks, the one with the most compressed data
  // (the least likely to be uniform, where a wrong predictor or byte order would not show); the
  // streams must give the same bytes for all its rows inside the band, unit by unit.
  const auto sample =
      static_cast<std::int64_t>(std::max_element(sizes_.begin(), sizes_.begin() + tiles_across_) - sizes_.begin());
  const std::int64_t sample_col = sample % tiles_across_;
  const std::int64_t sample_row = sample / tiles_across_;
  const std::size_t row_bytes = static_cast<std::size_t>(tile_width_) * static_cast<std::size_t>(sample_bytes_);
  const std::size_t unit_bytes = row_bytes * static_cast<std::size_t>(unit_rows_);
  std::vector<std::byte> gdal_block(row_bytes * static_cast<std::size_t>(tile_height_));
  std::vector<std::byte> ours(unit_bytes);
  const std::string block = "block " + std::to_string(sample_col) + " of block row " + std::to_string(sample_row);
  if (GDALReadBlock(band, static_cast<int>(sample_col), static_cast<int>(sample_row), gdal_block.data()) != CE_None) {
    return "GDAL cannot read " + block;
  }
  const std::int64_t units_per_tile = tile_height_ / unit_rows_;
  for (std::int64_t u = 0; u < units_per_tile; ++u) {
    const std::int64_t rows_in_band =
        std::clamp<std::int64_t>(height_ - (sample_row * tile_height_ + u * unit_rows_), 0, unit_rows_);
    if (rows_in_band == 0) break;
    try {
      decode(sample_row * units_per_tile + u, sample_col, ours.data());
    } catch (const std::exception& e) {
      return block + " does not decode here: " + e.what();
    }
    if (std::memcmp(gdal_block.data() + static_cast<std::size_t>(u) * unit_bytes, ours.data(),
                    row_bytes * static_cast<std::size_t>(rows_in_band)) != 0) {
      return "decoding here differs from GDAL's on " + block;
    }
  }
  columns_[static_cast<std::size_t>(sample_col)] = std::make_unique<Column>();
  return {};
}

std::string TiffTileStreams::read_layout(int band_index, std::uint64_t tiles) {
  const TiffPtr t = open_tiff(path_);
  if (!t) return "libtiff cannot open the file";
  if (std::string tags = unsupported_tags(t.get()); !tags.empty()) return tags;
  tiled_ = TIFFIsTiled(t.get()) != 0;
  const auto image_width = tag_or<std::uint32_t>(t.get(), TIFFTAG_IMAGEWIDTH, 0);
  const auto block_width = tiled_ ? tag_or<std::uint32_t>(t.get(), TIFFTAG_TILEWIDTH, 0) : image_width;
  const auto block_height =
      tiled_ ? tag_or<std::uint32_t>(t.get(), TIFFTAG_TILELENGTH, 0)
             : std::min<std::uint64_t>(tag_or<std::uint32_t>(t.get(), TIFFTAG_ROWSPERSTRIP, 0xffffffffu),
                                       static_cast<std::uint64_t>(height_));
  if (block_width != static_cast<std::uint32_t>(tile_width_) ||
      block_height != static_cast<std::uint64_t>(tile_height_)) {
    return "libtiff's blocks (" + std::to_string(block_width) + " x " + std::to_string(block_height) +
           ") are not GDAL's";
  }
  const bool separate =
      tag_or<std::uint16_t>(t.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) == PLANARCONFIG_SEPARATE;
  if (!separate && band_index != 1) return "band " + std::to_string(band_index) + " of pixel-interleaved samples";
  const std::uint64_t first = separate ? static_cast<std::uint64_t>(band_index - 1) * tiles : 0;
  if (first + tiles > (tiled_ ? TIFFNumberOfTiles(t.get()) : TIFFNumberOfStrips(t.get())))
    return "libtiff counts fewer tiles than GDAL";
  offsets_.resize(tiles);
  sizes_.resize(tiles);
  for (std::uint64_t k = 0; k < tiles; ++k) {
    const std::int64_t tile_row = static_cast<std::int64_t>(k) / tiles_across_;
    const std::string tile =
        "tile " + std::to_string(static_cast<std::int64_t>(k) % tiles_across_) + "_" + std::to_string(tile_row);
    int err = 0;
    offsets_[k] = TIFFGetStrileOffsetWithErr(t.get(), static_cast<std::uint32_t>(first + k), &err);
    if (err == 0) sizes_[k] = TIFFGetStrileByteCountWithErr(t.get(), static_cast<std::uint32_t>(first + k), &err);
    if (err != 0) return "the tables' entry of " + tile + " cannot be read";
    if (offsets_[k] == 0 || sizes_[k] == 0) return "sparse tiles (" + tile + " is not in the file)";
    if (std::string data = check_tile_data(k, tile_row, tile); !data.empty()) return data;
  }
  return {};
}

std::string TiffTileStreams::check_tile_data(std::uint64_t k, std::int64_t tile_row, const std::string& tile) const {
  // libtiff reads an uncompressed unit's full size from its offset, whatever its byte count
  // says, and fails when the file does not hold it; compressed data is its byte count.
  const std::uint64_t need = deflate_ ? sizes_[k] : stored_bytes(tile_row);
  if (need > file_size_ || offsets_[k] > file_size_ - need) {
    return tile + "'s data (" + std::to_string(need) + " bytes at offset " + std::to_string(offsets_[k]) +
           ") runs past the end of the file (" + std::to_string(file_size_) + " bytes)";
  }
  // Except an uncompressed tile of which GDAL asks libtiff for part (see gdal_rows): libtiff
  // then reads the tile's byte count from its offset (all of it must be in the file), and
  // fails when it holds fewer bytes than the rows asked for. (Found by fuzz/fuzz_tiff:
  // regress-none-short-bottom-tile.tif.)
  const bool partial_read = tiled_ && gdal_rows(tile_row) < tile_height_;
  if (!deflate_ && partial_read) {
    const std::uint64_t rows_bytes = static_cast<std::uint64_t>(gdal_rows(tile_row)) *
                                     static_cast<std::uint64_t>(tile_width_) *
                                     static_cast<std::uint64_t>(sample_bytes_);
    if (sizes_[k] < rows_bytes || sizes_[k] > file_size_ || offsets_[k] > file_size_ - sizes_[k]) {
      return tile + "'s byte count (" + std::to_string(sizes_[k]) + " at offset " + std::to_string(offsets_[k]) +
             ") does not hold the " + std::to_string(rows_bytes) + " bytes GDAL reads of it in the file (" +
             std::to_string(file_size_) + " bytes)";
    }
  }
  // libtiff refuses (with an error GDAL fails the block on) a byte count above 1 MiB and more
  // than 10 times the block's decoded size plus 4 KiB, wherever it reads the byte count: for
  // compressed units, and the uncompressed tiles above.
  const std::uint64_t block_bytes = static_cast<std::uint64_t>(tile_width_) * static_cast<std::uint64_t>(tile_height_) *
                                    static_cast<std::uint64_t>(sample_bytes_);
  if ((deflate_ || partial_read) && sizes_[k] > (std::uint64_t{1} << 20) && (sizes_[k] - 4096) / 10 > block_bytes) {
    return tile + "'s byte count (" + std::to_string(sizes_[k]) + ") is more than libtiff reads for a block of " +
           std::to_string(block_bytes) + " bytes";
  }
  return {};
}

std::uint64_t TiffTileStreams::stored_bytes(std::int64_t tile_row) const {
  return static_cast<std::uint64_t>(stored_rows(tile_row)) * static_cast<std::uint64_t>(tile_width_) *
         static_cast<std::uint64_t>(sample_bytes_);
}

std::int64_t TiffTileStreams::stored_rows(std::int64_t tile_row) const {
  // A tile is stored whole, the band's last strip only down to the band's last row.
  return tiled_ ? tile_height_ : std::clamp<std::int64_t>(height_ - tile_row * tile_height_, 0, tile_height_);
}

std::int64_t TiffTileStreams::gdal_rows(std::int64_t tile_row) const {
  // GDAL's GTiff IReadBlock asks libtiff for fewer rows of a block of the bottom row of blocks
  // that is partly below the band (bottom tiles are sometimes written short), namely
  //   block_height - ((block_row + 1) * block_height) % band_height
  // rows: those inside the band when the block reaches less than the band's height below it,
  // else more of them, or the whole block (with 16 rows in 32-row tiles, say). A strip is read
  // down to the band's last row whatever is asked. libtiff decodes exactly the rows asked for,
  // DEFLATE with libdeflate when that is the whole tile (or strip: the stream must then end
  // right, or hold more), with zlib else (the stream need only hold the rows); uncompressed
  // from the tile's offset when it is the whole tile, from its byte count else. Asking for more
  // rows than GDAL does is safe (a later GDAL that asks only for the band's rows fails less).
  if (!tiled_) return stored_rows(tile_row);
  if ((tile_row + 1) * tile_height_ <= height_) return tile_height_;
  return tile_height_ - ((tile_row + 1) * tile_height_) % height_;
}

TiffTileStreams::~TiffTileStreams() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t TiffTileStreams::state_bytes() const {
  const std::size_t per_column =
      sizeof(Column) + (inflater_ == Inflater::isal ? sizeof(inflate_state) : sizeof(z_stream) + kZlibStateBytes);
  const std::size_t tables = (offsets_.capacity() + sizes_.capacity()) * sizeof(std::uint64_t);
  return (deflate_ ? static_cast<std::size_t>(tiles_across_) * per_column : 0) + tables;
}

void TiffTileStreams::fail(std::int64_t tile_col, std::int64_t tile_row, const std::string& what) const {
  throw_io_error(where_, "reading " + path_ + " tile " + std::to_string(tile_col) + " of tile row " +
                             std::to_string(tile_row) + " (rows " + std::to_string(tile_row * tile_height_) + "-" +
                             std::to_string((tile_row + 1) * tile_height_ - 1) + ") failed: " + what);
}

void TiffTileStreams::decode(std::int64_t unit, std::int64_t column, std::byte* dst) {
  const std::int64_t units_per_tile = tile_height_ / unit_rows_;
  const std::int64_t tile_row = unit / units_per_tile;
  const std::int64_t unit_in_tile = unit % units_per_tile;
  if (column < 0 || column >= tiles_across_ || tile_row < 0 || tile_row >= tiles_down_)
    fail(column, tile_row, "no such tile");
  Column& c = *columns_[static_cast<std::size_t>(column)];
  std::lock_guard lock(c.mutex);
  try {
    fill(c, tile_row * tiles_across_ + column, unit_in_tile, dst);
  } catch (...) {
    // The stream stopped somewhere inside a unit: the next call starts the tile again rather
    // than carrying on from there.
    c.tile = -1;
    throw;
  }
}

void TiffTileStreams::fill(Column& c, std::int64_t tile, std::int64_t unit_in_tile, std::byte* dst) {
  if (!deflate_) {
    read_uncompressed(tile, unit_in_tile, dst);
    undo_predictor(dst);
    return;
  }
  if (c.tile != tile || c.next_unit > unit_in_tile) start_tile(c, tile);
  while (c.next_unit <= unit_in_tile) {
    inflate_rows(c, tile, dst);  // units before the one asked for are decoded into dst and overwritten
    ++c.next_unit;
  }
  undo_predictor(dst);
  after_unit(c, tile, unit_in_tile);
}

void TiffTileStreams::read_uncompressed(std::int64_t tile, std::int64_t unit_in_tile, std::byte* dst) {
  // Uncompressed: the unit's rows are one byte range of the tile, read whole from the tile's
  // offset as libtiff reads them (their presence in the file was checked when opening).
  const std::size_t unit_bytes = static_cast<std::size_t>(tile_width_) * static_cast<std::size_t>(sample_bytes_) *
                                 static_cast<std::size_t>(unit_rows_);
  const auto k = static_cast<std::size_t>(tile);
  const std::int64_t tile_row = tile / tiles_across_;
  const std::int64_t rows = std::clamp<std::int64_t>(stored_rows(tile_row) - unit_in_tile * unit_rows_, 0, unit_rows_);
  const std::uint64_t begin = static_cast<std::uint64_t>(unit_in_tile) * unit_bytes;
  const std::size_t wanted = static_cast<std::size_t>(rows) * unit_bytes / static_cast<std::size_t>(unit_rows_);
  std::size_t done = 0;
  while (done < wanted) {
    const ssize_t n = ::pread(fd_, dst + done, wanted - done, static_cast<off_t>(offsets_[k] + begin + done));
    if (n <= 0) fail(tile % tiles_across_, tile_row, n == 0 ? "the file ends early" : std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  std::memset(dst + done, 0, unit_bytes - done);  // rows past the band's last strip
}

void TiffTileStreams::start_tile(Column& c, std::int64_t tile) {
  const auto k = static_cast<std::size_t>(tile);
  // ISA-L takes DEFLATE blocks whose Huffman codes leave codes unused ("incomplete"), which
  // zlib and libdeflate refuse. No encoder writes them, and damage that makes one fails the
  // tile's checksum, checked on its last unit as GDAL checks it. But where GDAL has part of
  // a tile decoded (see gdal_rows), no checksum is reached: those tiles are inflated with
  // zlib, as libtiff inflates them, so that they fail here where they fail GDAL. (Found by
  // fuzz/fuzz_tiff: regress-deflate-incomplete-code-bottom-tile.tif.) The one exception left:
  // a whole tile built with an incomplete code and its right checksum decodes here (to the
  // only values it can mean) and not in GDAL.
  const bool use_zlib = inflater_ == Inflater::zlib || gdal_rows(tile / tiles_across_) < tile_height_;
  if (use_zlib) {
    c.z.reset();  // one state per column at a time: state_bytes() counts the larger, ISA-L's
    if (!c.zs) {
      auto zs = std::make_unique<z_stream>();
      if (inflateInit(zs.get()) != Z_OK)
        fail(tile % tiles_across_, tile / tiles_across_, "zlib cannot start an inflate stream");
      c.zs = std::move(zs);
    } else {
      inflateReset(c.zs.get());
    }
  } else {
    if (c.zs) {
      inflateEnd(c.zs.get());
      c.zs.reset();
    }
    if (!c.z) c.z = std::make_unique<inflate_state>();
    isal_inflate_init(c.z.get());
    c.z->crc_flag = ISAL_ZLIB;  // TIFF's DEFLATE is zlib-wrapped
  }
  c.zlib = use_zlib;
  c.tile = tile;
  c.next_unit = 0;
  c.ended = false;
  c.in_pos = offsets_[k];
  c.in_end = offsets_[k] + sizes_[k];
  std::uint8_t header[2] = {0, 0};
  if (sizes_[k] < 2 || ::pread(fd_, header, 2, static_cast<off_t>(offsets_[k])) != 2 ||
      !valid_zlib_header(header[0], header[1])) {
    c.tile = -1;
    fail(tile % tiles_across_, tile / tiles_across_, "the tile's DEFLATE data does not start with a valid zlib header");
  }
}

void TiffTileStreams::after_unit(Column& c, std::int64_t tile, std::int64_t unit_in_tile) {
  // The band's last unit of the tile (the last one asked for): the rows below it that GDAL
  // decodes must decode too (into a buffer of the calling thread's), so that no tile passes
  // here that fails GDAL. (Found by fuzz/fuzz_tiff: regress-deflate-bottom-tile-below-band.tif.)
  const std::int64_t tile_row = tile / tiles_across_;
  const std::int64_t units_per_tile = tile_height_ / unit_rows_;
  const std::int64_t band_units =
      std::min<std::int64_t>(units_per_tile, (height_ - tile_row * tile_height_ + unit_rows_ - 1) / unit_rows_);
  const std::int64_t gdal_units = (gdal_rows(tile_row) + unit_rows_ - 1) / unit_rows_;
  if (unit_in_tile == band_units - 1 && c.next_unit < gdal_units) {
    thread_local std::vector<std::byte> below;
    below.resize(static_cast<std::size_t>(tile_width_) * static_cast<std::size_t>(sample_bytes_) *
                 static_cast<std::size_t>(unit_rows_));
    while (c.next_unit < gdal_units) {
      inflate_rows(c, tile, below.data());
      ++c.next_unit;
    }
  }
  if (c.next_unit == gdal_units && gdal_rows(tile_row) < tile_height_) {
    check_after_gdal_rows(c, tile);
  } else if (c.next_unit == units_per_tile) {
    finish(c, tile);
  }
}

void TiffTileStreams::check_after_gdal_rows(Column& c, std::int64_t tile) {
  // libtiff stops inflating once the rows are out, where the next byte would be written: it
  // still reads the stream up to there, and its end (with the checksum) when that comes first.
  // Here one more byte is asked for, and the stream is then started again if more units of the
  // tile are asked for (which the engine never does). Only libdeflate, for a whole strip, also
  // fails a stream that stops before its end.
  std::uint8_t extra[1];
  (void)inflate_into(c, tile, extra, sizeof extra, /*cut_short_ok=*/tiled_);
  c.tile = -1;
}

void TiffTileStreams::finish(Column& c, std::int64_t tile) {
  // After a tile's last unit: the stream must end there, with the zlib checksum of all its
  // rows right (ISA-L checks it), so that damaged data fails the run instead of passing.
  std::uint8_t extra[64];
  if (!c.ended && inflate_into(c, tile, extra, sizeof extra) > 0) {
    fail(tile % tiles_across_, tile / tiles_across_, "the tile's DEFLATE data holds more rows than the tile");
  }
}

std::size_t TiffTileStreams::thread_bytes() const {
  // read_compressed's `in`, decode_unit's `below`, undo_predictor's `tmp`.
  const std::size_t row_bytes = static_cast<std::size_t>(tile_width_) * static_cast<std::size_t>(sample_bytes_);
  return kReadBytes + 64 + row_bytes * static_cast<std::size_t>(unit_rows_) + (predictor_ == 3 ? row_bytes : 0);
}

std::span<const std::uint8_t> TiffTileStreams::read_compressed(Column& c, std::int64_t tile, std::size_t want) {
  thread_local std::vector<std::uint8_t> in(kReadBytes + 64);  // slack: ISA-L loads its input 8 bytes at a time
  // About as many compressed bytes as the output asked for: one read for most units.
  const std::uint64_t n =
      std::min<std::uint64_t>({kReadBytes, std::max<std::uint64_t>(4096, want), c.in_end - c.in_pos});
  const ssize_t got = n > 0 ? ::pread(fd_, in.data(), n, static_cast<off_t>(c.in_pos)) : 0;
  if (got < 0 || (got == 0 && n > 0))
    fail(tile % tiles_across_, tile / tiles_across_, got == 0 ? "the file ends early" : std::strerror(errno));
  return {in.data(), static_cast<std::size_t>(got)};
}

std::size_t TiffTileStreams::inflate_into(Column& c, std::int64_t tile, std::uint8_t* out, std::size_t size,
                                          bool cut_short_ok) {
  const auto damaged = [&](const std::string& what) {
    fail(tile % tiles_across_, tile / tiles_across_, "the tile's DEFLATE " + what);
  };
  // One step of either inflate over `in`: returns the compressed bytes it consumed.
  const auto step = [&](std::span<const std::uint8_t> in, std::size_t& avail_out) -> std::size_t {
    if (c.zlib) {
      z_stream& z = *c.zs;
      z.next_in = const_cast<std::uint8_t*>(in.data());
      z.avail_in = static_cast<uInt>(in.size());
      const int ret = inflate(&z, Z_NO_FLUSH);
      const std::size_t left = z.avail_in;
      z.next_in = nullptr;
      z.avail_in = 0;
      avail_out = z.avail_out;
      if (ret == Z_DATA_ERROR && z.msg != nullptr && std::string(z.msg) == "incorrect data check")
        damaged("checksum does not match its data");
      if (ret == Z_STREAM_END)
        c.ended = true;
      else if (ret != Z_OK && ret != Z_BUF_ERROR)
        damaged("data is damaged (zlib: " + (z.msg != nullptr ? std::string(z.msg) : "error " + std::to_string(ret)) +
                ")");
      return in.size() - left;
    }
    inflate_state& z = *c.z;
    z.next_in = const_cast<std::uint8_t*>(in.data());
    z.avail_in = static_cast<std::uint32_t>(in.size());
    const int ret = isal_inflate(&z);
    const std::size_t left = z.avail_in;
    z.next_in = nullptr;
    z.avail_in = 0;
    avail_out = z.avail_out;
    if (ret == ISAL_INCORRECT_CHECKSUM) damaged("checksum does not match its data");
    if (ret != ISAL_DECOMP_OK && ret != ISAL_END_INPUT && ret != ISAL_OUT_OVERFLOW)
      damaged("data is damaged (ISA-L error " + std::to_string(ret) + ")");
    if (z.block_state == ISAL_BLOCK_FINISH) c.ended = true;
    return in.size() - left;
  };
  if (c.zlib) {
    c.zs->next_out = out;
    c.zs->avail_out = static_cast<uInt>(size);
  } else {
    c.z->next_out = out;
    c.z->avail_out = static_cast<std::uint32_t>(size);
  }
  std::size_t avail_out = size;
  while (avail_out > 0 && !c.ended) {
    const std::size_t before = avail_out;
    const auto in = read_compressed(c, tile, avail_out);
    c.in_pos += step(in, avail_out);
    if (!c.ended && in.empty() && avail_out == before) {
      if (cut_short_ok) break;
      damaged("data is cut short");
    }
  }
  return size - avail_out;
}

void TiffTileStreams::inflate_rows(Column& c, std::int64_t tile, std::byte* dst) {
  const std::size_t unit_bytes = static_cast<std::size_t>(tile_width_) * static_cast<std::size_t>(sample_bytes_) *
                                 static_cast<std::size_t>(unit_rows_);
  const std::size_t produced = inflate_into(c, tile, reinterpret_cast<std::uint8_t*>(dst), unit_bytes);
  // A tile's stream may end early only in rows GDAL does not decode (a short last strip, or a
  // bottom tile's rows below the band; see gdal_rows).
  if (produced < unit_bytes) {
    const std::int64_t tile_row = tile / tiles_across_;
    const std::int64_t first_row = tile_row * tile_height_ + c.next_unit * unit_rows_;
    const std::int64_t valid_rows =
        std::clamp<std::int64_t>(gdal_rows(tile_row) - c.next_unit * unit_rows_, 0, unit_rows_);
    const std::size_t needed = static_cast<std::size_t>(valid_rows) * static_cast<std::size_t>(tile_width_) *
                               static_cast<std::size_t>(sample_bytes_);
    if (produced < needed)
      fail(tile % tiles_across_, tile_row, "the tile's data ends early (at row " + std::to_string(first_row) + ")");
    std::memset(dst + produced, 0, unit_bytes - produced);
  }
}

void TiffTileStreams::undo_predictor(std::byte* rows) const {
  const std::size_t row_bytes = static_cast<std::size_t>(tile_width_) * static_cast<std::size_t>(sample_bytes_);
  const std::size_t samples = static_cast<std::size_t>(tile_width_) * static_cast<std::size_t>(unit_rows_);
  if (predictor_ == 3) {
    // Floating point: per row, byte differences over the whole row, the samples' bytes stored
    // as planes from the most significant; the result is in native order whatever the file's.
    thread_local std::vector<std::byte> tmp;
    tmp.resize(row_bytes);
    const std::size_t w = static_cast<std::size_t>(tile_width_);
    const std::size_t b = static_cast<std::size_t>(sample_bytes_);
    for (int r = 0; r < unit_rows_; ++r) {
      std::byte* row = rows + static_cast<std::size_t>(r) * row_bytes;
      auto* u = reinterpret_cast<unsigned char*>(row);
      for (std::size_t i = 1; i < row_bytes; ++i) u[i] = static_cast<unsigned char>(u[i] + u[i - 1]);
      std::memcpy(tmp.data(), row, row_bytes);
      for (std::size_t i = 0; i < w; ++i) {
        for (std::size_t byte = 0; byte < b; ++byte) {
          const std::size_t significance = std::endian::native == std::endian::big ? byte : b - byte - 1;
          row[i * b + byte] = tmp[significance * w + i];
        }
      }
    }
    return;
  }
  if (swapped_ && sample_bytes_ > 1) GDALSwapWords(rows, sample_bytes_, static_cast<int>(samples), sample_bytes_);
  if (predictor_ == 2) {
    for (int r = 0; r < unit_rows_; ++r) {
      std::byte* row = rows + static_cast<std::size_t>(r) * row_bytes;
      switch (sample_bytes_) {
        case 1:
          accumulate_row<std::uint8_t>(row, tile_width_);
          break;
        case 2:
          accumulate_row<std::uint16_t>(row, tile_width_);
          break;
        case 4:
          accumulate_row<std::uint32_t>(row, tile_width_);
          break;
        case 8:
          accumulate_row<std::uint64_t>(row, tile_width_);
          break;
        default:
          break;
      }
    }
  }
}

}  // namespace rasterflow::nodes
