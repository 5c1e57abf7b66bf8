#include "nodes/parquet/thrift_compact.hpp"

namespace rasterflow::nodes::thrift {

void CompactWriter::varint(std::uint64_t v) {
  while (v >= 0x80) {
    out_ += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out_ += static_cast<char>(v);
}

void CompactWriter::field_header(std::int16_t id, Type type) {
  const int delta = id - last_;
  if (delta > 0 && delta <= 15) {
    out_ += static_cast<char>((delta << 4) | static_cast<int>(type));
  } else {
    out_ += static_cast<char>(type);
    varint(zigzag(id));
  }
  last_ = id;
}

void CompactWriter::field_i32(std::int16_t id, std::int32_t v) {
  field_header(id, Type::i32);
  varint(zigzag(v));
}

void CompactWriter::field_i64(std::int16_t id, std::int64_t v) {
  field_header(id, Type::i64);
  varint(zigzag(v));
}

void CompactWriter::field_i8(std::int16_t id, std::int8_t v) {
  field_header(id, Type::i8);
  out_ += static_cast<char>(v);
}

void CompactWriter::field_bool(std::int16_t id, bool v) { field_header(id, v ? Type::bool_true : Type::bool_false); }

void CompactWriter::field_binary(std::int16_t id, std::string_view v) {
  field_header(id, Type::binary);
  element_binary(v);
}

void CompactWriter::element_binary(std::string_view v) {
  varint(v.size());
  out_.append(v);
}

void CompactWriter::begin_struct(std::int16_t id) {
  field_header(id, Type::structure);
  begin_element();
}

void CompactWriter::begin_element() {
  stack_.push_back(last_);
  last_ = 0;
}

void CompactWriter::end_struct() {
  out_ += '\0';
  last_ = stack_.back();
  stack_.pop_back();
}

void CompactWriter::begin_list(std::int16_t id, Type element, std::size_t size) {
  field_header(id, Type::list);
  if (size < 15) {
    out_ += static_cast<char>((size << 4) | static_cast<std::size_t>(element));
  } else {
    out_ += static_cast<char>(0xf0 | static_cast<int>(element));
    varint(size);
  }
}

}  // namespace rasterflow::nodes::thrift
