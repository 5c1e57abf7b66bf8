#include "nodes/cf/band_coordinates.hpp"

#include <cpl_string.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {
namespace {

std::string item(GDALMajorObjectH object, const std::string& key) {
  const char* v = GDALGetMetadataItem(object, key.c_str(), nullptr);
  return v != nullptr ? v : "";
}

std::string shortest(double v) {
  char buffer[32];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, r.ptr);
}

// "{time,plev}" -> {"time", "plev"}
std::vector<std::string> netcdf_dimensions(GDALDatasetH ds) {
  std::string text = item(ds, "NETCDF_DIM_EXTRA");
  std::vector<std::string> out;
  if (text.size() < 2) return out;
  const CPLStringList parts(CSLTokenizeString2(text.substr(1, text.size() - 2).c_str(), ",", 0));
  for (int i = 0; i < parts.size(); ++i) out.emplace_back(parts[i]);
  return out;
}

BandCoordinates netcdf_coordinates(GDALDatasetH ds, GDALRasterBandH band, const std::vector<std::string>& dims,
                                   const std::string& where, const std::string& path) {
  BandCoordinates out;
  for (const auto& dim : dims) {
    const std::string value = item(band, "NETCDF_DIM_" + dim);
    if (value.empty()) continue;
    BandCoordinate c;
    c.dimension = dim;
    c.value = std::strtod(value.c_str(), nullptr);
    c.units = item(ds, dim + "#units");
    c.calendar = item(ds, dim + "#calendar");
    if (c.units.find(" since ") != std::string::npos) {
      try {
        c.time = TimeDecoder(c.units, c.calendar).decode(c.value);
      } catch (const std::invalid_argument& e) {
        throw_graph_error(where, "option \"path\": " + path + ": dimension \"" + dim + "\": " + e.what());
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

BandCoordinates grib_coordinates(GDALRasterBandH band) {
  BandCoordinates out;
  const std::string valid = item(band, "GRIB_VALID_TIME");
  if (!valid.empty()) {
    BandCoordinate c;
    c.dimension = "time";
    c.value = std::strtod(valid.c_str(), nullptr);
    c.units = "seconds since 1970-01-01 00:00:00";
    c.calendar = "standard";
    c.time = TimeDecoder(c.units, c.calendar).decode(c.value);
    out.push_back(std::move(c));
  }
  const std::string level = item(band, "GRIB_SHORT_NAME");  // "2-HTGL", "50000-ISBL", "0-SFC"
  const auto dash = level.find('-');
  if (dash != std::string::npos && dash > 0) {
    BandCoordinate c;
    c.dimension = "level";
    c.value = std::strtod(level.substr(0, dash).c_str(), nullptr);
    const std::string type = level.substr(dash + 1);
    c.units = type == "HTGL" ? "m" : type == "ISBL" ? "hPa" : type;
    if (type == "ISBL") c.value /= 100;  // GDAL gives Pa; ecCodes' level and cfgrib's isobaricInhPa are hPa
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

std::vector<BandCoordinates> read_band_coordinates(GDALDatasetH ds, const std::vector<int>& bands,
                                                   const std::string& where, const std::string& path) {
  const std::vector<std::string> dims = netcdf_dimensions(ds);
  std::vector<BandCoordinates> out;
  for (const int b : bands) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b);
    out.push_back(!dims.empty() ? netcdf_coordinates(ds, band, dims, where, path) : grib_coordinates(band));
  }
  name_coordinates(out);
  return out;
}

void name_coordinates(std::vector<BandCoordinates>& bands) {
  std::map<std::string, std::vector<CivilTime>> times;
  for (const auto& band : bands) {
    for (const auto& c : band) {
      if (c.time) times[c.dimension].push_back(*c.time);
    }
  }
  std::map<std::string, std::vector<std::string>> texts;
  for (const auto& [dim, list] : times) texts[dim] = distinct_iso_texts(list);
  std::map<std::string, std::size_t> next;
  for (auto& band : bands) {
    for (auto& c : band) {
      if (c.time) {
        c.text = texts[c.dimension][next[c.dimension]++];
      } else {
        std::string units = c.units;
        units.erase(std::remove(units.begin(), units.end(), ' '), units.end());
        c.text = units == "SFC" ? units : shortest(c.value) + units;
      }
    }
  }
}

std::vector<std::string> coordinate_labels(const std::vector<BandCoordinates>& bands, const std::string& where,
                                           const std::string& path) {
  std::map<std::string, std::set<std::string>> texts;
  for (const auto& band : bands) {
    if (band.empty()) {
      throw_graph_error(where, "option \"band_names\": " + path +
                                   " has no time or level coordinates to name its bands by (use number, description "
                                   "or metadata:<KEY>)");
    }
    for (const auto& c : band) texts[c.dimension].insert(c.text);
  }
  std::vector<std::string> out;
  for (const auto& band : bands) {
    std::string label;
    for (const auto& c : band) {
      if (bands.size() > 1 && texts[c.dimension].size() < 2) continue;
      label += (label.empty() ? "" : "_") + c.text;
    }
    out.push_back(label);
  }
  return out;
}

namespace {

bool value_matches(const BandCoordinate& c, const std::string& wanted) {
  if (c.time) {
    const auto slash = wanted.find('/');
    if (slash == std::string::npos) return date_prefix_matches(wanted, *c.time);
    const std::string from = wanted.substr(0, slash);
    const std::string to = wanted.substr(slash + 1);
    const std::string iso = iso_text(*c.time, 3);
    return (iso >= from || date_prefix_matches(from, *c.time)) && (iso <= to || date_prefix_matches(to, *c.time));
  }
  if (wanted == c.text) return true;
  char* end = nullptr;
  const double v = std::strtod(wanted.c_str(), &end);
  return end != wanted.c_str() && *end == '\0' && std::fabs(v - c.value) <= 1e-9 * std::max(1.0, std::fabs(v));
}

const BandCoordinate* find_dimension(const BandCoordinates& band, const std::string& dim) {
  for (const auto& c : band) {
    if (c.dimension == dim) return &c;
  }
  return nullptr;
}

std::string available_values(const std::vector<BandCoordinates>& bands, const std::string& dim) {
  std::vector<std::string> seen;
  for (const auto& band : bands) {
    const BandCoordinate* c = find_dimension(band, dim);
    if (c != nullptr && std::find(seen.begin(), seen.end(), c->text) == seen.end()) seen.push_back(c->text);
  }
  std::string out;
  for (std::size_t i = 0; i < seen.size() && i < 40; ++i) out += (i ? ", " : "") + seen[i];
  if (seen.size() > 40) out += ", ... (" + std::to_string(seen.size()) + " in all)";
  return out;
}

}  // namespace

std::vector<std::size_t> select_by_coordinates(const std::vector<BandCoordinates>& bands,
                                               const std::vector<std::string>& select, const std::string& where,
                                               const std::string& path) {
  std::map<std::string, std::vector<std::string>> wanted;
  for (const auto& entry : select) {
    const auto eq = entry.find('=');
    wanted[entry.substr(0, eq)].push_back(eq == std::string::npos ? "" : entry.substr(eq + 1));
  }
  std::set<std::string> dims;
  for (const auto& band : bands) {
    for (const auto& c : band) dims.insert(c.dimension);
  }
  for (const auto& entry : wanted) {
    const std::string& dim = entry.first;  // a name, not a structured binding: lambdas capture it
    const std::vector<std::string>& values = entry.second;
    if (dims.count(dim) == 0) {
      std::string list;
      for (const auto& d : dims) list += (list.empty() ? "" : ", ") + d;
      throw_graph_error(where, "option \"select\": " + path + " has no dimension \"" + dim +
                                   "\" (it has: " + (list.empty() ? std::string("none") : list) + ")");
    }
    for (const auto& v : values) {
      const bool found = std::any_of(bands.begin(), bands.end(), [&](const BandCoordinates& band) {
        const BandCoordinate* c = find_dimension(band, dim);
        return c != nullptr && value_matches(*c, v);
      });
      if (!found) {
        throw_graph_error(where, "option \"select\": " + path + " has no " + dim + " \"" + v +
                                     "\" (available: " + available_values(bands, dim) + ")");
      }
    }
  }
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < bands.size(); ++i) {
    const bool keep = std::all_of(wanted.begin(), wanted.end(), [&](const auto& w) {
      const BandCoordinate* c = find_dimension(bands[i], w.first);
      return c != nullptr &&
             std::any_of(w.second.begin(), w.second.end(), [&](const std::string& v) { return value_matches(*c, v); });
    });
    if (keep) kept.push_back(i);
  }
  if (kept.empty()) throw_graph_error(where, "option \"select\": no band of " + path + " has all the values asked");
  return kept;
}

std::string band_item(GDALRasterBandH band, const char* key) { return item(band, key); }

std::string band_long_name(GDALRasterBandH band) {
  std::string name = item(band, "long_name");
  if (!name.empty()) return name;
  name = item(band, "GRIB_COMMENT");  // "Temperature [C]"
  const auto bracket = name.rfind(" [");
  return bracket != std::string::npos ? name.substr(0, bracket) : name;
}

std::vector<std::string> describe_bands(const std::vector<std::string>& units,
                                        const std::vector<BandCoordinates>& coordinates) {
  std::vector<std::string> lines;
  std::vector<std::string> distinct;
  for (const auto& u : units) {
    if (std::find(distinct.begin(), distinct.end(), u) == distinct.end()) distinct.push_back(u);
  }
  if (distinct.size() == 1 && !distinct.front().empty()) lines.push_back("units: " + distinct.front());
  if (distinct.size() > 1) {
    std::string text;
    for (std::size_t i = 0; i < units.size(); ++i)
      text +=
          (i ? ", " : "") + std::string("band ") + std::to_string(i + 1) + " " + (units[i].empty() ? "none" : units[i]);
    lines.push_back("units: " + text);
  }
  std::map<std::string, std::vector<const BandCoordinate*>> by_dimension;
  std::vector<std::string> order;
  for (const auto& band : coordinates) {
    for (const auto& c : band) {
      if (by_dimension[c.dimension].empty()) order.push_back(c.dimension);
      by_dimension[c.dimension].push_back(&c);
    }
  }
  for (const auto& dim : order) {
    const auto& list = by_dimension[dim];
    std::set<std::string> values;
    for (const auto* c : list) values.insert(c->text);
    std::string line = dim + ": " + list.front()->text;
    if (values.size() > 1) line += " .. " + list.back()->text + ", " + std::to_string(values.size()) + " values";
    if (list.front()->time)
      line += " (" + list.front()->units + ", calendar " +
              (list.front()->calendar.empty() ? std::string("standard") : list.front()->calendar) + ")";
    lines.push_back(line);
  }
  return lines;
}

std::string band_units(GDALRasterBandH band) {
  const char* unit = GDALGetRasterUnitType(band);
  std::string text = unit != nullptr ? unit : "";
  if (text.empty()) text = item(band, "GRIB_UNIT");
  if (text.empty()) text = item(band, "units");
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  return text;
}

namespace {

// The numeric type of a netCDF/HDF5 variable's attribute, GDT_Unknown when it has none.
GDALDataType attribute_type(GDALMDArrayH array, const char* name) {
  GDALAttributeH attribute = GDALMDArrayGetAttribute(array, name);
  if (attribute == nullptr) return GDT_Unknown;
  GDALExtendedDataTypeH type = GDALAttributeGetDataType(attribute);
  const GDALDataType numeric =
      GDALExtendedDataTypeGetClass(type) == GEDTC_NUMERIC ? GDALExtendedDataTypeGetNumericDataType(type) : GDT_Unknown;
  GDALExtendedDataTypeRelease(type);
  GDALAttributeRelease(attribute);
  return numeric;
}

}  // namespace

GDALDataType cf_unpacked_type(GDALDatasetH ds, int band) {
  const std::string variable = item(GDALGetRasterBand(ds, band), "NETCDF_VARNAME");
  const CPLStringList files(GDALGetFileList(ds));
  if (variable.empty() || files.size() == 0) return GDT_Float64;
  GDALDatasetH multidim = GDALOpenEx(files[0], GDAL_OF_MULTIDIM_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
  if (multidim == nullptr) return GDT_Float64;
  GDALDataType result = GDT_Float64;
  GDALGroupH root = GDALDatasetGetRootGroup(multidim);
  GDALMDArrayH array = root != nullptr ? GDALGroupOpenMDArray(root, variable.c_str(), nullptr) : nullptr;
  if (array != nullptr) {
    const GDALDataType scale = attribute_type(array, "scale_factor");
    const GDALDataType offset = attribute_type(array, "add_offset");
    const bool any = scale != GDT_Unknown || offset != GDT_Unknown;
    const bool float32 =
        (scale == GDT_Unknown || scale == GDT_Float32) && (offset == GDT_Unknown || offset == GDT_Float32);
    if (any && float32) result = GDT_Float32;
    GDALMDArrayRelease(array);
  }
  if (root != nullptr) GDALGroupRelease(root);
  GDALClose(multidim);
  return result;
}

}  // namespace rasterflow::nodes
