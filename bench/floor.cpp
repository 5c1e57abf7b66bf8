// rasterflow_floor OUT_FILE OUT_BYTES RASTER...
// Reads every block of every raster once (all cores, a GDAL handle per thread) and writes
// OUT_BYTES bytes to OUT_FILE in 4 MiB writes. Prints "seconds pixels bytes".
#include <cpl_conv.h>
#include <fcntl.h>
#include <gdal.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: rasterflow_floor OUT_FILE OUT_BYTES RASTER...\n");
    return 2;
  }
  GDALAllRegister();
  const auto start = std::chrono::steady_clock::now();
  std::atomic<long long> pixels{0};
  for (int f = 3; f < argc; ++f) {
    const std::string path = argv[f];
    GDALDatasetH probe = GDALOpen(path.c_str(), GA_ReadOnly);
    if (probe == nullptr) return 1;
    const int width = GDALGetRasterXSize(probe);
    const int height = GDALGetRasterYSize(probe);
    int bx = 0, by = 0;
    GDALGetBlockSize(GDALGetRasterBand(probe, 1), &bx, &by);
    const GDALDataType type = GDALGetRasterDataType(GDALGetRasterBand(probe, 1));
    GDALClose(probe);
    const int block_rows = (height + by - 1) / by;
    oneapi::tbb::enumerable_thread_specific<GDALDatasetH> handles([&] { return GDALOpen(path.c_str(), GA_ReadOnly); });
    oneapi::tbb::enumerable_thread_specific<std::vector<unsigned char>> buffers;
    oneapi::tbb::parallel_for(0, block_rows, [&](int r) {
      GDALRasterBandH band = GDALGetRasterBand(handles.local(), 1);
      const int rows = std::min(by, height - r * by);
      auto& buf = buffers.local();
      buf.resize(static_cast<std::size_t>(width) * rows * GDALGetDataTypeSizeBytes(type));
      if (GDALRasterIO(band, GF_Read, 0, r * by, width, rows, buf.data(), width, rows, type, 0, 0) != CE_None)
        std::abort();
      pixels += static_cast<long long>(width) * rows;
    });
    for (auto h : handles) GDALClose(h);
  }
  const long long bytes = std::atoll(argv[2]);
  const int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  std::vector<char> chunk(4 << 20, '7');
  for (long long left = bytes; left > 0;) {
    const auto n = static_cast<std::size_t>(std::min<long long>(left, static_cast<long long>(chunk.size())));
    if (::write(fd, chunk.data(), n) != static_cast<ssize_t>(n)) return 1;
    left -= static_cast<long long>(n);
  }
  ::fsync(fd);
  ::close(fd);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.3f %lld %lld\n", seconds, pixels.load(), bytes);
  return 0;
}
