#pragma once
// CF time coordinates decoded in C++ (CF conventions 1.11, section 4.4): "<unit> since <date>"
// with the calendars standard/gregorian (Julian before 1582-10-15), proleptic_gregorian,
// noleap/365_day, all_leap/366_day, 360_day and julian. Pure functions, no GDAL.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rasterflow::nodes {

enum class Calendar { standard, proleptic_gregorian, noleap, all_leap, day360, julian };

struct CivilTime {
  std::int64_t year = 0;
  int month = 1;  // 1-12
  int day = 1;    // 1-31 (1-30 in 360_day)
  int hour = 0;
  int minute = 0;
  double second = 0;  // with its fraction
};

// A calendar by its CF name (case-insensitive; "gregorian" is "standard", "365_day" is "noleap");
// nullopt for an unknown or unsupported name ("none").
std::optional<Calendar> calendar_by_name(const std::string& name);

// The decoder of one time coordinate: its `units` and `calendar` attributes. Throws
// std::invalid_argument with a message naming what is wrong in the units text.
class TimeDecoder {
 public:
  TimeDecoder(const std::string& units, const std::string& calendar);
  CivilTime decode(double value) const;

 private:
  Calendar calendar_;
  double seconds_per_unit_ = 86400;  // 0 for months and years (360_day only)
  int months_per_unit_ = 0;
  double epoch_days_ = 0;  // the reference date, in days of the calendar's own count
};

// ISO 8601 text: "2006-01-16", or with the time of day to the precision `detail` asks
// (0 date, 1 hours:minutes, 2 seconds, 3 fractions).
std::string iso_text(const CivilTime& t, int detail);

// The texts of times that name distinct columns: dates alone when they are distinct (monthly
// means at mid-month keep their dates), else the least time detail that tells them apart.
std::vector<std::string> distinct_iso_texts(const std::vector<CivilTime>& times);

// Whether `text` (a date prefix "2006", "2006-01", "2006-01-16", "2006-01-16T12"...) matches `t`'s
// ISO text, as xarray's partial date strings select.
bool date_prefix_matches(const std::string& prefix, const CivilTime& t);

}  // namespace rasterflow::nodes
