// Resample's Int64/UInt64 choice (issue #29): the fast path reads one such band in its own type
// through the integer kernels (resample_wide.hpp); anything else that would lose digits of a
// value beyond 2^53 is refused before the run, naming the file, band, value, node and option.
#include "nodes/transforms/resample_wide.hpp"
#include "nodes/transforms/resample.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

ValueKind Resample::column_kind() const {
  if (wide_) return reader_->info().type == GDT_Int64 ? ValueKind::int64 : ValueKind::uint64;
  return output_kind(method_, reader_->value_type());
}

std::string Resample::wide_refusal(const std::string& refusal) const {
  const auto& info = reader_->info();
  if (is_blending(method_)) {
    return std::string("option \"method\": ") + method_name(method_) +
           " computes in doubles (its column is Float64), which would not hold the result exactly; the selecting "
           "methods (nearest, min, max, mode, median, q1, q3) give every digit";
  }
  if (!fast_ && (wrap_ || info.geolocated())) {
    return std::string(
               "option \"implementation\": the warper path reads 64-bit values exactly (as ranks) but not "
               "yet from ") +
           (wrap_ ? "a source wrapped in longitude (give the raster_source \"wrap_longitude\": false)"
                  : "geolocation arrays") +
           ", and GDAL 3.6's warp kernel computes in doubles: " +
           (refusal.empty() ? std::string("implementation is warper") : refusal);
  }
  if (reader_->band_count() != 1) {
    return "option \"band\": several 64-bit bands in one raster_source are not read exactly yet; read one band per "
           "raster_source";
  }
  if (info.unpacked) return "option \"band\": its scale and offset make its values floating (give \"unpack\": false)";
  if (info.validity.active()) {
    return std::string("option \"band\": its validity mask (") + info.validity.describe() +
           ") is not applied by the exact path yet";
  }
  return {};
}

void Resample::prepare_wide(const std::string& refusal) {
  const auto& info = reader_->info();
  wide_ = false;
  if (!is_wide_integer(info.type)) return;
  // Within +-2^53 the warper reads the values exactly as doubles itself, as gdalwarp does.
  if (!fast_ && info.wide_beyond.empty()) return;
  const std::string why = wide_refusal(refusal);
  if (why.empty()) {
    wide_ = true;
    path_reason_ += std::string("; ") + GDALGetDataTypeName(info.type) + " values taken as 64-bit integers, exactly" +
                    (fast_ ? "" : " (GDAL's warper resamples their ranks in each tile's source window)");
    return;
  }
  if (info.wide_beyond.empty()) return;  // every value fits a double: read as doubles, exactly
  const auto colon = why.find(": ");
  throw_graph_error(where(), why.substr(0, colon) + ": " + info.wide_beyond + ": " + why.substr(colon + 2));
}

}  // namespace rasterflow::nodes
