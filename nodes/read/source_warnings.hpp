#pragma once
// GDAL's warnings about a source (irregular grid, ignored metadata, guessed CRS) reach the user
// (#28): while a source is opened, GDAL's warnings are collected instead of going to the debug
// log, then each distinct one is logged once at warning level, naming the node and the file.
#include <string>
#include <vector>

namespace rasterflow::nodes {

class SourceWarnings {
 public:
  SourceWarnings();  // collects this thread's GDAL warnings from now on
  ~SourceWarnings();
  SourceWarnings(const SourceWarnings&) = delete;
  SourceWarnings& operator=(const SourceWarnings&) = delete;
  // Stops collecting and logs each distinct warning: "<where>: <path>: GDAL warning: <message>".
  void report(const std::string& where, const std::string& path);

 private:
  bool pushed_ = false;
  std::vector<std::string> messages_;
};

}  // namespace rasterflow::nodes
