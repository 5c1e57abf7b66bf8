#include "nodes/sinks/csv_format.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

namespace rasterflow::nodes {

namespace {

constexpr char kTwoDigits[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495"
    "05152535455565758596061626364656667686970717273747576777879808182838485868788899091929394959697989"
    "9";
constexpr std::uint32_t kPowersOf10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

int decimal_digits(std::uint32_t n) {
  const int t = (32 - __builtin_clz(n | 1)) * 1233 >> 12;  // floor(log10) or one less
  return t + (n >= kPowersOf10[t] ? 1 : 0);
}

// The `len` decimal digits of n at p.
void put_digits(char* p, std::uint32_t n, int len) {
  char* e = p + len;
  while (n >= 100) {
    e -= 2;
    std::memcpy(e, kTwoDigits + (n % 100) * 2, 2);
    n /= 100;
  }
  if (n >= 10) {
    std::memcpy(e - 2, kTwoDigits + n * 2, 2);
  } else {
    e[-1] = static_cast<char>('0' + n);
  }
}

// The n digits with a point after the first `whole` of them (0 < whole < n), written in place
// two at a time from the last (copying them from a buffer stalls on reading back what was just
// stored). Returns the end.
char* put_digits_with_point(char* p, std::uint32_t digits, int n, int whole) {
  p[whole] = '.';
  int i = n;  // digits [0, i) are still to write; digit k goes to p[k] before the point, p[k + 1] after
  while (i >= 2) {
    const char* two = kTwoDigits + (digits % 100) * 2;
    digits /= 100;
    if (i - 2 >= whole) {
      std::memcpy(p + i - 1, two, 2);
    } else if (i <= whole) {
      std::memcpy(p + i - 2, two, 2);
    } else {  // the point falls between the two
      p[i] = two[1];
      p[i - 2] = two[0];
    }
    i -= 2;
  }
  if (i == 1) p[0] = static_cast<char>('0' + digits);  // n odd: the first digit is before the point
  return p + n + 1;
}

// d.ddde+XX (or e-XX, three exponent digits from 100): the n digits, then the exponent.
char* put_scientific(char* p, std::uint32_t digits, int n, int exponent) {
  if (n > 1) {
    p = put_digits_with_point(p, digits, n, 1);
  } else {
    *p++ = static_cast<char>('0' + digits);
  }
  *p++ = 'e';
  *p++ = exponent < 0 ? '-' : '+';
  int magnitude = std::abs(exponent);
  if (magnitude >= 100) {
    *p++ = static_cast<char>('0' + magnitude / 100);
    magnitude %= 100;
  }
  std::memcpy(p, kTwoDigits + magnitude * 2, 2);
  return p + 2;
}

}  // namespace

char* format_float32(char* p, float value) {
  if (!std::isfinite(value) || value == 0.0f) return std::to_chars(p, p + 24, value).ptr;
  const auto decimal = fmt::detail::dragonbox::to_decimal(value);
  const std::uint32_t digits = decimal.significand;
  const int exponent = decimal.exponent;  // value = digits x 10^exponent
  if (std::signbit(value)) *p++ = '-';
  const int n = decimal_digits(digits);
  const int sci_exponent = exponent + n - 1;
  const int sci_length = n + (n > 1 ? 1 : 0) + 2 + (std::abs(sci_exponent) >= 100 ? 3 : 2);
  const int fixed_length = exponent >= 0 ? n + exponent : (-exponent < n ? n + 1 : 2 - exponent);
  if (fixed_length > sci_length) return put_scientific(p, digits, n, sci_exponent);
  if (exponent >= 0) {
    // An integer: std::to_chars writes its exact value (below 10^14 here), not the shortest
    // digits followed by zeros.
    return std::to_chars(p, p + 24, static_cast<std::uint64_t>(std::fabs(value))).ptr;
  }
  if (-exponent < n) return put_digits_with_point(p, digits, n, n + exponent);
  p[0] = '0';
  p[1] = '.';
  const int zeros = -exponent - n;
  std::memset(p + 2, '0', static_cast<std::size_t>(zeros));
  put_digits(p + 2 + zeros, digits, n);
  return p + 2 + zeros + n;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (const char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

void append_fixed(std::string& out, double value, int decimals) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
  if (ec != std::errc{}) {
    out += "nan";
    return;
  }
  char* begin = buf;
  if (decimals > 0) {
    while (end > begin && end[-1] == '0') --end;
    if (end > begin && end[-1] == '.') --end;
  }
  if (end - begin == 2 && begin[0] == '-' && begin[1] == '0') ++begin;
  out.append(begin, end);
}

void append_value(std::string& out, double value, ValueKind kind) {
  char buf[64];
  out.append(buf, format_value(buf, buf + sizeof buf, value, kind));
}

void append_cell(std::string& out, const Column& col, std::size_t cell) {
  char buf[64];
  out.append(buf, format_cell(buf, buf + sizeof buf, col, cell));
}

BufferPool::BufferPool(std::size_t capacity, std::size_t keep) : capacity_(capacity), keep_(keep) {}

std::unique_ptr<char[]> BufferPool::take() {
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      auto buffer = std::move(free_.back());
      free_.pop_back();
      return buffer;
    }
  }
  return std::unique_ptr<char[]>(new char[capacity_]);
}

void BufferPool::give_back(std::unique_ptr<char[]> buffer) {
  if (!buffer) return;
  std::lock_guard lock(mutex_);
  if (free_.size() < keep_) free_.push_back(std::move(buffer));
}

void CoordinateTexts::build(const std::vector<std::string>& texts) {
  longest_ = 0;
  for (const auto& t : texts) longest_ = std::max(longest_, t.size());
  const std::size_t stride = longest_ <= kSlot ? kSlot : longest_;
  slots_.assign(texts.size() * stride, '\0');
  sizes_.resize(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::memcpy(slots_.data() + i * stride, texts[i].data(), texts[i].size());
    sizes_[i] = static_cast<std::uint32_t>(texts[i].size());
  }
}

}  // namespace rasterflow::nodes
