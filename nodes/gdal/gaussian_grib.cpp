#include "nodes/gdal/gaussian_grib.hpp"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <numbers>

namespace rasterflow::nodes {

namespace {

std::uint64_t big_endian(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// GRIB2: sections after the 16-byte indicator, each "length (4), number (1)", up to section 3.
std::optional<GaussianGrid> grib2_grid(std::ifstream& in) {
  std::size_t offset = 16;
  for (int guard = 0; guard < 8; ++guard) {
    unsigned char head[5];
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(reinterpret_cast<char*>(head), 5)) return std::nullopt;
    const auto length = big_endian(head, 4);
    if (length < 5) return std::nullopt;
    if (head[4] == 3) {
      unsigned char s[72];
      in.seekg(static_cast<std::streamoff>(offset));
      if (length < 72 || !in.read(reinterpret_cast<char*>(s), 72)) return std::nullopt;
      if (big_endian(s + 12, 2) != 40) return std::nullopt;  // template 3.40: Gaussian latitude/longitude
      GaussianGrid g;
      g.n = static_cast<int>(big_endian(s + 67, 4));
      g.reduced = big_endian(s + 30, 4) == 0xFFFFFFFFu;  // Ni missing: points per row listed
      return g;
    }
    offset += length;
  }
  return std::nullopt;
}

// GRIB1: the 8-byte indicator, the PDS (length in 3 bytes, GDS present in bit 0x80 of octet 8),
// then the GDS: octet 6 the data representation type (4: Gaussian), octets 26-27 N.
std::optional<GaussianGrid> grib1_grid(std::ifstream& in) {
  unsigned char pds[8];
  in.seekg(8);
  if (!in.read(reinterpret_cast<char*>(pds), 8) || (pds[7] & 0x80) == 0) return std::nullopt;
  unsigned char gds[28];
  in.seekg(static_cast<std::streamoff>(8 + big_endian(pds, 3)));
  if (!in.read(reinterpret_cast<char*>(gds), 28) || gds[5] != 4) return std::nullopt;
  GaussianGrid g;
  g.n = static_cast<int>(big_endian(gds + 25, 2));
  g.reduced = big_endian(gds + 6, 2) == 0xFFFF;  // Ni missing
  return g;
}

}  // namespace

std::optional<GaussianGrid> gaussian_grid(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char indicator[8];
  if (!in.read(reinterpret_cast<char*>(indicator), 8) || indicator[0] != 'G' || indicator[1] != 'R' ||
      indicator[2] != 'I' || indicator[3] != 'B')
    return std::nullopt;
  const auto g = indicator[7] == 2 ? grib2_grid(in) : indicator[7] == 1 ? grib1_grid(in) : std::nullopt;
  if (g && g->n <= 0) return std::nullopt;
  return g;
}

std::vector<double> gaussian_latitudes(int n) {
  // The roots of P_2n by Newton's method from the usual first guesses, north to south.
  const int degree = 2 * n;
  std::vector<double> out(static_cast<std::size_t>(degree));
  for (int k = 0; k < degree; ++k) {
    double x = std::cos(std::numbers::pi * (k + 0.75) / (degree + 0.5));
    for (int iteration = 0; iteration < 100; ++iteration) {
      double p0 = 1.0, p1 = x;  // P_0, P_1, then up to P_degree
      for (int m = 2; m <= degree; ++m) {
        const double p2 = ((2.0 * m - 1.0) * x * p1 - (m - 1.0) * p0) / m;
        p0 = p1;
        p1 = p2;
      }
      const double derivative = degree * (x * p1 - p0) / (x * x - 1.0);
      const double step = p1 / derivative;
      x -= step;
      if (std::fabs(step) < 1e-15) break;
    }
    out[static_cast<std::size_t>(k)] = std::asin(x) * 180.0 / std::numbers::pi;
  }
  return out;
}

}  // namespace rasterflow::nodes
