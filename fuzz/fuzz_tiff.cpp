// libFuzzer target: the hand-written GeoTIFF tile reader (TiffTileStreams) against GDAL.
//
// Each input is written to a private file (the reader pread()s a real path) and opened with
// GDAL. For band 1 (and band 2), both inflaters' streams (ISA-L and zlib) decode every unit of
// every tile, and each block is compared with GDALReadBlock's:
//  (a) a unit that decodes, of a block GDAL decodes, gives GDAL's bytes on the rows inside the
//      band (all the block's columns: GDAL's block holds the right-hand tiles' padding columns
//      as decoded from the file, exactly as the streams do);
//  (b) a block GDAL cannot decode must fail here too: at least one of its units that the engine
//      asks for (those starting inside the band: BlockRows never asks for units below the band's
//      last row) must fail;
//  (c) ISA-L and zlib agree: both open or both refuse, each block fails under both or under
//      neither (over its units inside the band, and over all its units), and units both decode
//      hold the same bytes.
// Any difference abort()s with a message naming the band, block and first differing byte.
// TiffTileStreams::open refusing a file (it goes to GDAL) is not a finding, nor the reader
// failing a block GDAL decodes (the run then fails instead of giving other values).
// One exception to (b) is known and left (see tiff_tiles.cpp, fill): ISA-L takes DEFLATE blocks
// with incomplete Huffman codes that zlib and libdeflate refuse; a whole tile with one still
// fails here on its checksum, so only a tile built with such a code and the right checksum (not
// something mutations reach) decodes here where GDAL fails it.
//
// RASTERFLOW_FUZZ_TIFF_VERBOSE=1 prints, per band, why the reader refused it or what it
// decoded (to check that the seeds in corpus/tiff/ are taken by the reader).
#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "nodes/read/tiff_tiles.hpp"

namespace {

using rasterflow::nodes::TiffTileStreams;

constexpr int kMaxSize = 4096;  // raster width and height
constexpr int kMaxBands = 4;
constexpr int kMaxBlock = 1024;                    // GDAL block width and height
constexpr std::size_t kMaxGroupBytes = 16u << 20;  // blocks decoded and held at once (per decoder)

bool verbose() {
  static const bool v = [] {
    const char* e = std::getenv("RASTERFLOW_FUZZ_TIFF_VERBOSE");
    return e != nullptr && *e != '\0' && std::strcmp(e, "0") != 0;
  }();
  return v;
}

std::string g_dir;   // the process's private directory
std::string g_path;  // its one file, overwritten by every input

void remove_file() {
  if (!g_path.empty()) ::unlink(g_path.c_str());
  if (!g_dir.empty()) ::rmdir(g_dir.c_str());
}

void init() {
  GDALAllRegister();
  CPLSetErrorHandler(CPLQuietErrorHandler);
  CPLSetConfigOption("GDAL_CACHEMAX", "16");
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");                     // no .aux.xml next to the file
  CPLSetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");  // no .ovr/.msk looked for
  const char* base = std::getenv("TMPDIR");
  std::string root = base != nullptr && *base != '\0' ? base : "";
  if (root.empty()) root = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string pattern = root + "/rasterflow-fuzz-tiff-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    std::perror("fuzz_tiff: mkdtemp");
    std::abort();
  }
  g_dir = buf.data();
  g_path = g_dir + "/input.tif";
  std::atexit(remove_file);
}

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_tiff: DISCREPANCY: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

struct DatasetCloser {
  void operator()(void* ds) const { GDALClose(static_cast<GDALDatasetH>(ds)); }
};

// FNV-1a of the input: picks a decoding order and unit size per input, deterministically.
std::uint64_t hash_of(const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

// One decoder's results for a group of blocks of one block row.
struct Decoded {
  std::vector<std::byte> bytes;          // block after block, block_bytes each
  std::vector<unsigned char> unit_ok;    // per block, per unit
  std::vector<std::string> first_error;  // per block
};

enum class Order { raster, reversed, by_column };

void check_band(GDALDatasetH ds, int band_index, std::uint64_t h) {
  GDALRasterBandH band = GDALGetRasterBand(ds, band_index);
  if (band == nullptr) return;
  const int max_unit_rows = (h & 1) != 0 ? 32 : 16;
  const std::string name = "band " + std::to_string(band_index);

  const TiffTileStreams::Inflater inflaters[2] = {TiffTileStreams::Inflater::isal, TiffTileStreams::Inflater::zlib};
  std::unique_ptr<TiffTileStreams> streams[2];
  std::string why[2];
  for (int i = 0; i < 2; ++i)
    streams[i] = TiffTileStreams::open(ds, g_path, band_index, "fuzz", &why[i], max_unit_rows, inflaters[i]);
  if (!streams[0] && !streams[1]) {
    if (verbose()) std::fprintf(stderr, "fuzz_tiff: %s refused: %s\n", name.c_str(), why[0].c_str());
    return;
  }
  if (!streams[0] || !streams[1]) {
    finding(name + ": the inflaters disagree on opening: ISA-L " + (streams[0] ? "opens" : "refuses (" + why[0] + ")") +
            ", zlib " + (streams[1] ? "opens" : "refuses (" + why[1] + ")"));
  }

  int bw = 0;
  int bh = 0;
  GDALGetBlockSize(band, &bw, &bh);
  const std::int64_t width = GDALGetRasterBandXSize(band);
  const std::int64_t height = GDALGetRasterBandYSize(band);
  const int sample_bytes = GDALGetDataTypeSizeBytes(GDALGetRasterDataType(band));
  const int unit_rows = streams[0]->unit_rows();
  if (streams[1]->unit_rows() != unit_rows || streams[1]->tiles_across() != streams[0]->tiles_across()) {
    finding(name + ": the inflaters' streams have different layouts");
  }
  const std::int64_t across = (width + bw - 1) / bw;
  const std::int64_t down = (height + bh - 1) / bh;
  if (streams[0]->tiles_across() != across || bh % unit_rows != 0) {
    finding(name + ": the streams' layout (" + std::to_string(streams[0]->tiles_across()) + " tiles across, units of " +
            std::to_string(unit_rows) + " rows) is not GDAL's blocks (" + std::to_string(bw) + " x " +
            std::to_string(bh) + ")");
  }
  const std::int64_t units_per_tile = bh / unit_rows;
  const std::size_t row_bytes = static_cast<std::size_t>(bw) * static_cast<std::size_t>(sample_bytes);
  const std::size_t unit_bytes = row_bytes * static_cast<std::size_t>(unit_rows);
  const std::size_t block_bytes = row_bytes * static_cast<std::size_t>(bh);

  Order order = static_cast<Order>((h >> 1) % 3);
  if (order == Order::reversed && units_per_tile > 8) order = Order::raster;  // restarts cost units^2
  std::int64_t group = across;
  if (order == Order::by_column || static_cast<std::size_t>(across) * block_bytes > kMaxGroupBytes) {
    order = Order::by_column;
    group = 1;
  }
  if (verbose()) {
    std::fprintf(stderr, "fuzz_tiff: %s: %lld x %lld, blocks %d x %d, %d-byte samples, units of %d rows, order %d\n",
                 name.c_str(), static_cast<long long>(width), static_cast<long long>(height), bw, bh, sample_bytes,
                 unit_rows, static_cast<int>(order));
  }

  std::vector<std::byte> gdal(static_cast<std::size_t>(group) * block_bytes);
  std::vector<unsigned char> gdal_ok(static_cast<std::size_t>(group));
  Decoded dec[2];
  for (auto& d : dec) {
    d.bytes.resize(static_cast<std::size_t>(group) * block_bytes);
    d.unit_ok.resize(static_cast<std::size_t>(group * units_per_tile));
    d.first_error.resize(static_cast<std::size_t>(group));
  }
  long long stats[4] = {0, 0, 0, 0};  // blocks: both fine, GDAL only, reader (in band) only, neither

  for (std::int64_t tr = 0; tr < down; ++tr) {
    // Units starting inside the band: the ones the engine decodes.
    const std::int64_t units_in_band =
        std::min<std::int64_t>(units_per_tile, (height - tr * bh + unit_rows - 1) / unit_rows);
    const std::int64_t rows_in_band = std::min<std::int64_t>(bh, height - tr * bh);
    for (std::int64_t c0 = 0; c0 < across; c0 += group) {
      const std::int64_t n = std::min<std::int64_t>(group, across - c0);
      for (std::int64_t k = 0; k < n; ++k) {
        gdal_ok[static_cast<std::size_t>(k)] =
            GDALReadBlock(band, static_cast<int>(c0 + k), static_cast<int>(tr),
                          gdal.data() + static_cast<std::size_t>(k) * block_bytes) == CE_None;
      }
      for (int i = 0; i < 2; ++i) {
        Decoded& d = dec[i];
        std::fill(d.bytes.begin(), d.bytes.end(), std::byte{0xA5});
        std::fill(d.unit_ok.begin(), d.unit_ok.end(), 0);
        std::fill(d.first_error.begin(), d.first_error.end(), std::string());
        const auto run = [&](std::int64_t k, std::int64_t u) {
          std::byte* dst =
              d.bytes.data() + static_cast<std::size_t>(k) * block_bytes + static_cast<std::size_t>(u) * unit_bytes;
          try {
            streams[i]->decode(tr * units_per_tile + u, c0 + k, dst);
            d.unit_ok[static_cast<std::size_t>(k * units_per_tile + u)] = 1;
          } catch (const std::exception& e) {
            if (d.first_error[static_cast<std::size_t>(k)].empty())
              d.first_error[static_cast<std::size_t>(k)] = e.what();
          }
        };
        switch (order) {
          case Order::raster:
          case Order::by_column:  // one column per group
            for (std::int64_t u = 0; u < units_per_tile; ++u) {
              for (std::int64_t k = 0; k < n; ++k) run(k, u);
            }
            break;
          case Order::reversed:
            for (std::int64_t u = units_per_tile - 1; u >= 0; --u) {
              for (std::int64_t k = 0; k < n; ++k) run(k, u);
            }
            break;
        }
      }

      for (std::int64_t k = 0; k < n; ++k) {
        const std::int64_t col = c0 + k;
        const std::string block = name + " block " + std::to_string(col) + " of block row " + std::to_string(tr);
        bool in_band_ok[2];
        bool all_ok[2];
        for (int i = 0; i < 2; ++i) {
          in_band_ok[i] = all_ok[i] = true;
          for (std::int64_t u = 0; u < units_per_tile; ++u) {
            const bool ok = dec[i].unit_ok[static_cast<std::size_t>(k * units_per_tile + u)] != 0;
            all_ok[i] = all_ok[i] && ok;
            if (u < units_in_band) in_band_ok[i] = in_band_ok[i] && ok;
          }
        }
        // (c) the inflaters agree.
        if (in_band_ok[0] != in_band_ok[1] || all_ok[0] != all_ok[1]) {
          finding(block + ": ISA-L " +
                  (all_ok[0] ? "decodes it"
                             : (in_band_ok[0] ? "decodes its rows in the band, fails below: " : "fails: ") +
                                   dec[0].first_error[static_cast<std::size_t>(k)]) +
                  "; zlib " +
                  (all_ok[1] ? "decodes it"
                             : (in_band_ok[1] ? "decodes its rows in the band, fails below: " : "fails: ") +
                                   dec[1].first_error[static_cast<std::size_t>(k)]));
        }
        for (std::int64_t u = 0; u < units_in_band; ++u) {
          if (dec[0].unit_ok[static_cast<std::size_t>(k * units_per_tile + u)] == 0 ||
              dec[1].unit_ok[static_cast<std::size_t>(k * units_per_tile + u)] == 0)
            continue;
          const std::size_t rows =
              static_cast<std::size_t>(std::min<std::int64_t>(unit_rows, rows_in_band - u * unit_rows));
          const std::size_t at = static_cast<std::size_t>(k) * block_bytes + static_cast<std::size_t>(u) * unit_bytes;
          if (std::memcmp(dec[0].bytes.data() + at, dec[1].bytes.data() + at, rows * row_bytes) != 0) {
            std::size_t b = 0;
            while (dec[0].bytes[at + b] == dec[1].bytes[at + b]) ++b;
            finding(block + ": ISA-L and zlib differ at byte " + std::to_string(b) + " of unit " + std::to_string(u) +
                    " (row " + std::to_string(b / row_bytes) + " of the unit)");
          }
        }
        const bool g = gdal_ok[static_cast<std::size_t>(k)] != 0;
        ++stats[g ? (in_band_ok[0] ? 0 : 1) : (in_band_ok[0] ? 2 : 3)];
        // (b) never a success where GDAL fails.
        if (!g && in_band_ok[0]) {
          finding(block + ": GDAL cannot read it, the streams decode all " + std::to_string(units_in_band) +
                  " of its units inside the band" + (all_ok[0] ? " (and the units below)" : ""));
        }
        // (a) GDAL's bytes, for every unit decoded here.
        if (!g) continue;
        for (std::int64_t u = 0; u < units_in_band; ++u) {
          if (dec[0].unit_ok[static_cast<std::size_t>(k * units_per_tile + u)] == 0) continue;
          const std::size_t rows =
              static_cast<std::size_t>(std::min<std::int64_t>(unit_rows, rows_in_band - u * unit_rows));
          const std::size_t at = static_cast<std::size_t>(k) * block_bytes + static_cast<std::size_t>(u) * unit_bytes;
          if (std::memcmp(dec[0].bytes.data() + at, gdal.data() + at, rows * row_bytes) != 0) {
            std::size_t b = 0;
            while (dec[0].bytes[at + b] == gdal[at + b]) ++b;
            const std::size_t row_in_block = static_cast<std::size_t>(u * unit_rows) + b / row_bytes;
            const std::size_t column = (b % row_bytes) / static_cast<std::size_t>(sample_bytes);
            finding(block + ": differs from GDAL at byte " + std::to_string(b) + " of unit " + std::to_string(u) +
                    " (block row " + std::to_string(row_in_block) + ", block column " + std::to_string(column) +
                    (static_cast<std::int64_t>(col * bw) + static_cast<std::int64_t>(column) >= width
                         ? ", a padding column"
                         : "") +
                    "): GDAL " + std::to_string(static_cast<int>(gdal[at + b])) + ", streams " +
                    std::to_string(static_cast<int>(dec[0].bytes[at + b])));
          }
        }
      }
    }
  }
  if (verbose()) {
    std::fprintf(
        stderr,
        "fuzz_tiff: %s: blocks decoded by both %lld, by GDAL only %lld, by the streams only %lld, by neither %lld\n",
        name.c_str(), stats[0], stats[1], stats[2], stats[3]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = (init(), true);
  (void)ready;
  {
    FILE* f = std::fopen(g_path.c_str(), "wb");
    if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
      std::perror("fuzz_tiff: writing the input file");
      std::abort();
    }
  }
  const char* const drivers[] = {"GTiff", nullptr};
  std::unique_ptr<void, DatasetCloser> ds(
      GDALOpenEx(g_path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, drivers, nullptr, nullptr));
  if (!ds) return 0;
  const int bands = GDALGetRasterCount(ds.get());
  if (GDALGetRasterXSize(ds.get()) > kMaxSize || GDALGetRasterYSize(ds.get()) > kMaxSize || bands < 1 ||
      bands > kMaxBands)
    return 0;
  const std::uint64_t h = hash_of(data, size);
  for (int b = 1; b <= std::min(bands, 2); ++b) {
    GDALRasterBandH band = GDALGetRasterBand(ds.get(), b);
    int bw = 0;
    int bh = 0;
    GDALGetBlockSize(band, &bw, &bh);
    if (bw <= 0 || bh <= 0 || bw > kMaxBlock || bh > kMaxBlock) continue;
    check_band(ds.get(), b, h);
  }
  return 0;
}
