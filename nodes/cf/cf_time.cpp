#include "nodes/cf/cf_time.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace rasterflow::nodes {
namespace {

constexpr std::int64_t kMicrosPerDay = 86'400'000'000;
constexpr std::array<int, 12> kMonthDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Days in a calendar of 4-year cycles (Julian) or 400-year cycles (Gregorian), counted from a
// March-based year as in Howard Hinnant's civil-date algorithms.
std::int64_t cycle_days(std::int64_t y, int m, int d, bool gregorian) {
  y -= m <= 2;
  const std::int64_t cycle_years = gregorian ? 400 : 4;
  const std::int64_t cycle_length = gregorian ? 146097 : 1461;
  const std::int64_t era = floor_div(y, cycle_years);
  const std::int64_t yoe = y - era * cycle_years;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + (gregorian ? yoe / 4 - yoe / 100 : yoe / 4) + doy;
  return era * cycle_length + doe;
}

CivilTime civil_from_cycle_days(std::int64_t z, bool gregorian) {
  const std::int64_t cycle_years = gregorian ? 400 : 4;
  const std::int64_t cycle_length = gregorian ? 146097 : 1461;
  const std::int64_t era = floor_div(z, cycle_length);
  const std::int64_t doe = z - era * cycle_length;
  const std::int64_t yoe = gregorian ? (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 : (doe - doe / 1460) / 365;
  const std::int64_t doy = doe - (365 * yoe + (gregorian ? yoe / 4 - yoe / 100 : yoe / 4));
  const std::int64_t mp = (5 * doy + 2) / 153;
  CivilTime t;
  t.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * cycle_years + (t.month <= 2);
  return t;
}

// Julian day numbers, so that the two cycle counts meet: Gregorian 1582-10-15 is JDN 2299161,
// the day after Julian 1582-10-04.
constexpr std::int64_t kGregorianStartJdn = 2299161;
std::int64_t gregorian_jdn(std::int64_t y, int m, int d) {
  return cycle_days(y, m, d, true) - cycle_days(1582, 10, 15, true) + kGregorianStartJdn;
}
std::int64_t julian_jdn(std::int64_t y, int m, int d) {
  return cycle_days(y, m, d, false) - cycle_days(1582, 10, 5, false) + kGregorianStartJdn;
}

std::int64_t fixed_year_days(std::int64_t y, int m, int d, Calendar c) {
  if (c == Calendar::day360) return y * 360 + (m - 1) * 30 + d - 1;
  const int year_length = c == Calendar::noleap ? 365 : 366;
  std::int64_t days = y * year_length + d - 1;
  for (int i = 0; i < m - 1; ++i) days += kMonthDays[static_cast<std::size_t>(i)] + (c == Calendar::all_leap && i == 1);
  return days;
}

CivilTime fixed_year_civil(std::int64_t days, Calendar c) {
  CivilTime t;
  const int year_length = c == Calendar::day360 ? 360 : c == Calendar::noleap ? 365 : 366;
  t.year = floor_div(days, year_length);
  std::int64_t doy = days - t.year * year_length;
  if (c == Calendar::day360) {
    t.month = static_cast<int>(doy / 30) + 1;
    t.day = static_cast<int>(doy % 30) + 1;
    return t;
  }
  int m = 0;
  while (true) {
    const int length = kMonthDays[static_cast<std::size_t>(m)] + (c == Calendar::all_leap && m == 1);
    if (doy < length) break;
    doy -= length;
    ++m;
  }
  t.month = m + 1;
  t.day = static_cast<int>(doy) + 1;
  return t;
}

std::int64_t days_of(std::int64_t y, int m, int d, Calendar c) {
  switch (c) {
    case Calendar::proleptic_gregorian:
      return gregorian_jdn(y, m, d);
    case Calendar::julian:
      return julian_jdn(y, m, d);
    case Calendar::standard:
      return (y > 1582 || (y == 1582 && (m > 10 || (m == 10 && d >= 15)))) ? gregorian_jdn(y, m, d)
                                                                           : julian_jdn(y, m, d);
    default:
      return fixed_year_days(y, m, d, c);
  }
}

CivilTime civil_of(std::int64_t days, Calendar c) {
  const auto from_jdn = [](std::int64_t jdn, bool gregorian) {
    const std::int64_t base = gregorian ? cycle_days(1582, 10, 15, true) : cycle_days(1582, 10, 5, false);
    return civil_from_cycle_days(jdn - kGregorianStartJdn + base, gregorian);
  };
  switch (c) {
    case Calendar::proleptic_gregorian:
      return from_jdn(days, true);
    case Calendar::julian:
      return from_jdn(days, false);
    case Calendar::standard:
      return from_jdn(days, days >= kGregorianStartJdn);
    default:
      return fixed_year_civil(days, c);
  }
}

struct Reference {
  std::int64_t year = 0;
  int month = 1, day = 1;
  double seconds = 0;  // time of day, minus the time zone's offset
};

[[noreturn]] void bad_units(const std::string& units, const std::string& why) {
  throw std::invalid_argument("time units \"" + units + "\": " + why);
}

// "2006-01-01", "1-1-1", "2006-01-01 00:00:00", "1970-01-01T00:00:00Z", "2000-01-01 12:00 +1:00".
Reference parse_reference(const std::string& text, const std::string& units) {
  Reference r;
  long long y = 0;
  int m = 1, d = 1, consumed = 0;
  if (std::sscanf(text.c_str(), "%lld-%d-%d%n", &y, &m, &d, &consumed) < 2 || m < 1 || m > 12 || d < 1 || d > 31)
    bad_units(units, "the reference date is not YYYY-MM-DD");
  if (consumed == 0) {
    std::sscanf(text.c_str(), "%lld-%d%n", &y, &m, &consumed);
    d = 1;
  }
  r.year = y;
  r.month = m;
  r.day = d;
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && (rest[0] == 'T' || rest[0] == ' ')) rest.erase(0, 1);
  int hh = 0, mm = 0, n = 0;
  double ss = 0;
  if (std::sscanf(rest.c_str(), "%d:%d:%lf%n", &hh, &mm, &ss, &n) == 3 ||
      (ss = 0, std::sscanf(rest.c_str(), "%d:%d%n", &hh, &mm, &n) == 2)) {
    rest.erase(0, static_cast<std::size_t>(n));
  }
  r.seconds = hh * 3600.0 + mm * 60.0 + ss;
  rest.erase(0, rest.find_first_not_of(' '));
  if (rest.empty() || rest == "Z" || rest == "z" || lower(rest) == "utc" || lower(rest) == "gmt") return r;
  int zh = 0, zm = 0;
  if ((rest[0] == '+' || rest[0] == '-') && std::sscanf(rest.c_str() + 1, "%d:%d", &zh, &zm) >= 1) {
    if (rest.find(':') == std::string::npos && zh >= 100) {  // +0100
      zm = zh % 100;
      zh /= 100;
    }
    r.seconds -= (rest[0] == '-' ? -1 : 1) * (zh * 3600.0 + zm * 60.0);
    return r;
  }
  bad_units(units, "unreadable time zone \"" + rest + "\"");
}

}  // namespace

std::optional<Calendar> calendar_by_name(const std::string& name) {
  const std::string n = lower(name);
  if (n.empty() || n == "standard" || n == "gregorian") return Calendar::standard;
  if (n == "proleptic_gregorian") return Calendar::proleptic_gregorian;
  if (n == "noleap" || n == "365_day") return Calendar::noleap;
  if (n == "all_leap" || n == "366_day") return Calendar::all_leap;
  if (n == "360_day") return Calendar::day360;
  if (n == "julian") return Calendar::julian;
  return std::nullopt;
}

TimeDecoder::TimeDecoder(const std::string& units, const std::string& calendar) {
  const auto c = calendar_by_name(calendar);
  if (!c) throw std::invalid_argument("calendar \"" + calendar + "\" is not one CF defines for dates");
  calendar_ = *c;
  const std::string text = lower(units);
  const auto since = text.find(" since ");
  if (since == std::string::npos) bad_units(units, "expected \"<unit> since <date>\"");
  const std::string unit = text.substr(0, since);
  static const std::array<std::pair<const char*, double>, 20> kUnits{{
      {"days", 86400}, {"day", 86400}, {"d", 86400},      {"hours", 3600},        {"hour", 3600},
      {"hrs", 3600},   {"hr", 3600},   {"h", 3600},       {"minutes", 60},        {"minute", 60},
      {"mins", 60},    {"min", 60},    {"seconds", 1},    {"second", 1},          {"secs", 1},
      {"sec", 1},      {"s", 1},       {"weeks", 604800}, {"milliseconds", 1e-3}, {"microseconds", 1e-6},
  }};
  const auto found = std::find_if(kUnits.begin(), kUnits.end(), [&](const auto& u) { return unit == u.first; });
  if (found != kUnits.end()) {
    seconds_per_unit_ = found->second;
  } else if (unit == "months" || unit == "month" || unit == "years" || unit == "year") {
    // Calendar months and years are whole steps only in 360_day (as cftime decodes them).
    if (calendar_ != Calendar::day360)
      bad_units(units, "\"" + unit + "\" is a calendar step only in the 360_day calendar (as cftime reads it)");
    seconds_per_unit_ = 0;
    months_per_unit_ = unit[0] == 'm' ? 1 : 12;
  } else {
    bad_units(units, "unknown time unit \"" + unit + "\"");
  }
  const Reference r = parse_reference(units.substr(since + 7), units);
  epoch_days_ = static_cast<double>(days_of(r.year, r.month, r.day, calendar_)) + r.seconds / 86400.0;
}

CivilTime TimeDecoder::decode(double value) const {
  const double step_seconds = months_per_unit_ > 0 ? months_per_unit_ * 30.0 * 86400.0 : seconds_per_unit_;
  const double epoch_day = std::floor(epoch_days_);
  const auto epoch_us = static_cast<std::int64_t>(std::llround((epoch_days_ - epoch_day) * 86400.0 * 1e6));
  const std::int64_t total = static_cast<std::int64_t>(std::llround(value * step_seconds * 1e6)) + epoch_us;
  const std::int64_t day = floor_div(total, kMicrosPerDay);
  const std::int64_t us = total - day * kMicrosPerDay;
  CivilTime t = civil_of(static_cast<std::int64_t>(epoch_day) + day, calendar_);
  t.hour = static_cast<int>(us / 3'600'000'000);
  t.minute = static_cast<int>(us / 60'000'000 % 60);
  t.second = static_cast<double>(us % 60'000'000) / 1e6;
  return t;
}

std::string iso_text(const CivilTime& t, int detail) {
  char buffer[80];
  const int year_digits = t.year < 0 ? 5 : 4;
  int n = std::snprintf(buffer, sizeof buffer, "%0*lld-%02d-%02d", year_digits, static_cast<long long>(t.year), t.month,
                        t.day);
  if (detail >= 1) n += std::snprintf(buffer + n, sizeof buffer - n, "T%02d:%02d", t.hour, t.minute);
  if (detail == 2) n += std::snprintf(buffer + n, sizeof buffer - n, ":%02d", static_cast<int>(t.second));
  if (detail >= 3) std::snprintf(buffer + n, sizeof buffer - n, ":%09.6f", t.second);
  return buffer;
}

std::vector<std::string> distinct_iso_texts(const std::vector<CivilTime>& times) {
  std::set<std::string> exact;
  for (const auto& t : times) exact.insert(iso_text(t, 3));
  for (int detail = 0; detail <= 2; ++detail) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto& t : times) {
      out.push_back(iso_text(t, detail));
      seen.insert(out.back());
    }
    if (seen.size() == exact.size()) return out;
  }
  std::vector<std::string> out;
  for (const auto& t : times) out.push_back(iso_text(t, 3));
  return out;
}

bool date_prefix_matches(const std::string& prefix, const CivilTime& t) {
  const std::string full = iso_text(t, 3);
  std::string p = prefix;
  if (p.size() > 10 && p[10] == ' ') p[10] = 'T';
  return !p.empty() && full.compare(0, p.size(), p) == 0;
}

}  // namespace rasterflow::nodes
