#include <doctest/doctest.h>

#include "rasterflow/size.hpp"

using rasterflow::parse_size;

TEST_CASE("Size.Parse.UnitsAndPlainBytes") {
  CHECK(parse_size("512MiB") == 512ull << 20);
  CHECK(parse_size("4GiB") == 4ull << 30);
  CHECK(parse_size("2G") == 2ull << 30);
  CHECK(parse_size("2GB") == 2'000'000'000ull);
  CHECK(parse_size("1048576") == 1048576ull);
  CHECK(parse_size("1.5K") == 1536ull);
  CHECK(parse_size(" 8 mib ") == 8ull << 20);
}

TEST_CASE("Size.Parse.Malformed") {
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("lots"));
  CHECK_FALSE(parse_size("-1G"));
  CHECK_FALSE(parse_size("12XB"));
  CHECK_FALSE(parse_size("1e30"));
}
