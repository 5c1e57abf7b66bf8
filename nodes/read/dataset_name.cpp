#include "nodes/read/dataset_name.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "rasterflow/node/hooks.hpp"

namespace rasterflow::nodes {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

std::string resolve_file(const std::string& file, const std::filesystem::path& base) {
  const std::filesystem::path p(file);
  if (base.empty() || p.empty() || p.is_absolute()) return file;
  return (base / p).lexically_normal().string();
}

// The archive prefixes GDAL reads from local files; the archive's own extension ends its path.
struct Archive {
  std::string_view prefix;
  std::array<std::string_view, 6> extensions;  // "" past the last; empty list: the whole rest
};
constexpr Archive kArchives[] = {
    {"/vsizip/", {".zip", ".kmz", ".dwf", ".ods", ".xlsx", ".xlsm"}},
    {"/vsitar/", {".tar", ".tgz", ".tar.gz", "", "", ""}},
    {"/vsigzip/", {"", "", "", "", "", ""}},
};

DatasetName resolve(const std::string& text, const std::filesystem::path& base);

// "/vsizip/archive.zip/inner", "/vsizip/{archive.zip}/inner", "/vsigzip/file.gz".
DatasetName resolve_archive(const Archive& a, const std::string& text, const std::filesystem::path& base) {
  const std::string rest = text.substr(a.prefix.size());
  std::string archive, inner;
  bool braces = false;
  if (!rest.empty() && rest.front() == '{') {
    const auto close = rest.find('}');
    braces = close != std::string::npos;
    archive = braces ? rest.substr(1, close - 1) : rest;
    inner = braces ? rest.substr(close + 1) : "";
  } else if (a.extensions[0].empty()) {
    archive = rest;
  } else {
    // The first path component (from the left) ending with an archive extension.
    std::size_t end = std::string::npos;
    for (std::size_t pos = 0;;) {
      const std::size_t slash = rest.find('/', pos);
      const std::size_t stop = slash == std::string::npos ? rest.size() : slash;
      const std::string_view head(rest.data(), stop);
      if (stop > 0 && std::any_of(a.extensions.begin(), a.extensions.end(),
                                  [&](std::string_view e) { return !e.empty() && ends_with_nocase(head, e); })) {
        end = stop;
        break;
      }
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    archive = end == std::string::npos ? rest : rest.substr(0, end);
    inner = end == std::string::npos ? "" : rest.substr(end);
  }
  DatasetName in = resolve(archive, base);
  DatasetName out;
  out.remote = in.remote;
  out.file = in.file;
  out.name = std::string(a.prefix) + (braces ? "{" + in.name + "}" : in.name) + inner;
  return out;
}

// DRIVER:"file":rest, DRIVER:file:rest, GTIFF_DIR:n:file. Driver prefixes are upper-case
// letters, digits and underscores, at least two characters (never a one-letter drive).
bool resolve_subdataset(const std::string& text, const std::filesystem::path& base, DatasetName& out) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon < 2) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = text[i];
    if (!(std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  }
  std::string prefix = text.substr(0, colon + 1);
  std::string rest = text.substr(colon + 1);
  if (starts_with(rest, "//")) return false;  // HTTP://host/...: a URL
  if (prefix == "GTIFF_DIR:") {               // GTIFF_DIR:n:file
    const auto second = rest.find(':');
    if (second == std::string::npos) return false;
    prefix += rest.substr(0, second + 1);
    rest = rest.substr(second + 1);
    const DatasetName in = resolve(rest, base);
    out = {prefix + in.name, in.file, in.remote};
    return true;
  }
  std::string file, tail;
  bool quoted = false;
  if (!rest.empty() && rest.front() == '"') {
    const auto close = rest.find('"', 1);
    if (close == std::string::npos) return false;
    quoted = true;
    file = rest.substr(1, close - 1);
    tail = rest.substr(close + 1);
  } else if (starts_with(rest, "/vsi")) {
    // An unquoted /vsi path runs to the end (its own colons, as in URLs, are its own).
    file = rest;
  } else {
    const auto next = rest.find(':');
    file = next == std::string::npos ? rest : rest.substr(0, next);
    tail = next == std::string::npos ? "" : rest.substr(next);
  }
  const DatasetName in = resolve(file, base);
  out.remote = in.remote;
  out.file = in.file;
  out.name = prefix + (quoted ? "\"" + in.name + "\"" : in.name) + tail;
  return true;
}

DatasetName resolve(const std::string& text, const std::filesystem::path& base) {
  for (const auto& a : kArchives) {
    if (starts_with(text, a.prefix)) return resolve_archive(a, text, base);
  }
  if (starts_with(text, "/vsi")) return {text, "", true};
  DatasetName out;
  if (resolve_subdataset(text, base, out)) return out;  // before URLs: HDF5:"f.h5"://grp/var holds "://"
  if (text.find("://") != std::string::npos) return {text, "", true};
  const std::string file = resolve_file(text, base);
  return {file, file, false};
}

}  // namespace

DatasetName resolve_dataset_name(const std::string& text, const std::filesystem::path& base) {
  return resolve(text, base);
}

bool is_plain_file(const std::string& text) {
  const DatasetName n = resolve(text, {});
  return !n.remote && n.name == n.file;
}

}  // namespace rasterflow::nodes

namespace {
[[maybe_unused]] const bool rasterflow_dataset_names_registered_ = rasterflow::register_hooks({
    .resolve_input_path =
        [](const std::string& text, const std::filesystem::path& base) {
          const auto resolved = rasterflow::nodes::resolve_dataset_name(text, base);
          return rasterflow::ResolvedInput{resolved.name, resolved.remote};
        },
});
}  // namespace
