#include <doctest/doctest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/sinks/compression.hpp"

using rasterflow::nodes::Codec;
using rasterflow::nodes::TileCompressor;

namespace {

// zlib's own inflate of a whole .gz text: every member, one after the other, as zcat reads them.
// Counts the members in `members`.
std::string gunzip(const std::string& gz, int& members) {
  std::string out;
  members = 0;
  std::size_t pos = 0;
  while (pos < gz.size()) {
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + pos));
    z.avail_in = static_cast<uInt>(gz.size() - pos);
    int rc = Z_OK;
    char buffer[1 << 16];
    while (rc == Z_OK) {
      z.next_out = reinterpret_cast<Bytef*>(buffer);
      z.avail_out = sizeof buffer;
      rc = inflate(&z, Z_NO_FLUSH);
      out.append(buffer, sizeof buffer - z.avail_out);
    }
    REQUIRE_MESSAGE(rc == Z_STREAM_END, "member " << members << " at byte " << pos << ": " << rc);
    pos = gz.size() - z.avail_in;
    inflateEnd(&z);
    ++members;
  }
  return out;
}

// CSV-like rows, and bytes that do not compress (igzip's output then outgrows its first guess).
std::string csv_text(std::size_t rows) {
  std::string text;
  std::mt19937 random(7);
  std::uniform_real_distribution<double> value(-50.0, 50.0);
  for (std::size_t r = 0; r < rows; ++r)
    text += std::to_string(r % 700) + "," + std::to_string(r / 700) + "," + std::to_string(value(random)) + ",,3\n";
  return text;
}

std::string random_bytes(std::size_t n) {
  std::string bytes(n, '\0');
  std::mt19937 random(11);
  for (auto& b : bytes) b = static_cast<char>(random() & 0xff);
  return bytes;
}

}  // namespace

TEST_CASE("Compression.GzipEveryLevel.MembersInflateToTheInput") {
  const std::string text = csv_text(60000);
  const std::string noise = random_bytes(3 << 20);
  for (int level = 1; level <= 9; ++level) {
    CAPTURE(level);
    TileCompressor compressor(Codec::gzip, level);
    // Several tiles through one compressor (its contexts are reused), in pieces of every size,
    // with empty pieces among them, then incompressible bytes.
    std::string gz;
    std::string expected;
    for (int tile = 0; tile < 3; ++tile) {
      const std::string_view all(text);
      const std::vector<std::string_view> pieces = {all.substr(0, 100), std::string_view(), all.substr(100, 250000),
                                                    all.substr(250100)};
      compressor.compress(pieces, gz);
      expected += text;
    }
    const std::vector<std::string_view> noisy = {noise};
    compressor.compress(noisy, gz);
    expected += noise;
    const std::vector<std::string_view> empty = {std::string_view(), std::string_view()};
    const std::size_t before = gz.size();
    compressor.compress(empty, gz);
    CHECK(gz.size() == before);
    int members = 0;
    CHECK(gunzip(gz, members) == expected);
    CHECK(members == 4);
    CHECK(gz.size() < 3 * text.size() / 2 + noise.size() + noise.size() / 50);
  }
}

TEST_CASE("Compression.GzipDefault.IgzipLevelThreeAsSmallAsZlibSix") {
  // The default is igzip's level 3 (docs/benchmarks.md): on CSV text its members come within a
  // few percent of zlib's level 6 (gzip(1)'s default), and well under its level 1's.
  const std::string text = csv_text(200000);
  const std::vector<std::string_view> pieces = {text};
  const auto size_at = [&](int level) {
    TileCompressor compressor(Codec::gzip, level);
    std::string gz;
    compressor.compress(pieces, gz);
    return static_cast<double>(gz.size());
  };
  CHECK(rasterflow::nodes::default_level(Codec::gzip) == 3);
  const double igzip3 = size_at(3);
  const double zlib6 = size_at(6);
  MESSAGE("igzip 3: " << igzip3 << " bytes, zlib 6: " << zlib6 << ", igzip 1: " << size_at(1) << " of " << text.size());
  CHECK(igzip3 < zlib6 * 1.05);
  CHECK(igzip3 < size_at(1));
}
