#include "nodes/common/csv_format.hpp"

namespace rasterflow::nodes {

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
