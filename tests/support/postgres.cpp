#include "support/postgres.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rasterflow::test {
namespace {
const char* const kBin = "/usr/lib/postgresql/15/bin";
}

bool TestPostgres::available() { return std::filesystem::exists(std::string(kBin) + "/initdb"); }

int TestPostgres::run(const std::string& command) const {
  if (::geteuid() == 0) {
    return std::system(("su postgres -s /bin/sh -c '" + command + "' > /dev/null 2>&1").c_str());
  }
  return std::system((command + " > /dev/null 2>&1").c_str());
}

TestPostgres::TestPostgres() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rasterflow-pg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) throw std::runtime_error("no postgres user (install postgresql-15)");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
  }
  const std::string d = dir_.string();
  if (run(std::string(kBin) + "/initdb -D " + d + "/data -A trust -U postgres") != 0) {
    throw std::runtime_error("initdb failed in " + d);
  }
  start();
}

void TestPostgres::start() {
  if (running_) return;
  const std::string d = dir_.string();
  if (run(std::string(kBin) + "/pg_ctl -D " + d + "/data -w -t 30 -l " + d + "/server.log -o \"-k " + d +
          " -c listen_addresses= -c fsync=off\" start") != 0) {
    std::ifstream log(dir_ / "server.log");
    std::stringstream s;
    s << log.rdbuf();
    throw std::runtime_error("the test PostgreSQL server did not start: " + s.str());
  }
  running_ = true;
}

void TestPostgres::stop() {
  if (!running_) return;
  run(std::string(kBin) + "/pg_ctl -D " + dir_.string() + "/data -m immediate -w -t 30 stop");
  running_ = false;
}

TestPostgres::~TestPostgres() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TestPostgres::url(const std::string& password) const {
  return "postgresql://postgres" + (password.empty() ? std::string() : ":" + password) +
         "@/postgres?host=" + dir_.string();
}

}  // namespace rasterflow::test
