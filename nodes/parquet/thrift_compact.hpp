#pragma once
// A writer of Thrift's compact protocol, the encoding of Parquet's page headers and footer
// (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md): the few
// types Parquet's structures use (bool, i8, i32, i64, binary, list, struct), written field by
// field. Parquet needs only to write a fixed handful of structures, so this replaces a
// dependency on libthrift and its generated code (docs/parquet.md says why).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rasterflow::nodes::thrift {

enum class Type : std::uint8_t {
  bool_true = 1,
  bool_false = 2,
  i8 = 3,
  i16 = 4,
  i32 = 5,
  i64 = 6,
  binary = 8,
  list = 9,
  structure = 12
};

class CompactWriter {
 public:
  explicit CompactWriter(std::string& out) : out_(out) {}
  void field_i32(std::int16_t id, std::int32_t v);
  void field_i64(std::int16_t id, std::int64_t v);
  void field_i8(std::int16_t id, std::int8_t v);
  void field_bool(std::int16_t id, bool v);
  void field_binary(std::int16_t id, std::string_view v);
  // A struct field: begin, the struct's own fields, end.
  void begin_struct(std::int16_t id);
  void end_struct();
  // A list field of `size` elements of `element` type; then the elements (element_i32,
  // element_binary, or begin_element() ... end_struct() for structs).
  void begin_list(std::int16_t id, Type element, std::size_t size);
  void element_i32(std::int32_t v) { varint(zigzag(v)); }
  void element_binary(std::string_view v);
  void begin_element();
  // Ends the outermost struct (the message itself).
  void end_message() { out_ += '\0'; }

 private:
  static std::uint64_t zigzag(std::int64_t v) {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  }
  void varint(std::uint64_t v);
  void field_header(std::int16_t id, Type type);
  std::string& out_;
  std::int16_t last_ = 0;
  std::vector<std::int16_t> stack_;
};

}  // namespace rasterflow::nodes::thrift
