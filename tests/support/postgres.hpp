#pragma once
// A real, throwaway PostgreSQL server for tests: initdb into a temporary folder, listening on
// a Unix socket only, run as the `postgres` user when the tests run as root. Stopped and
// removed by the destructor.
#include <filesystem>
#include <string>

namespace rasterflow::test {

class TestPostgres {
 public:
  TestPostgres();  // initdb + start; throws std::runtime_error with the server's log on failure
  ~TestPostgres();
  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  // postgresql://postgres@/postgres?host=<socket folder>
  std::string url(const std::string& password = "") const;
  void stop();              // immediate shutdown (an outage, as seen by clients)
  void start();             // starts it again after stop(); throws with the server's log on failure
  static bool available();  // the server binaries are installed

 private:
  int run(const std::string& command) const;
  std::filesystem::path dir_;
  bool running_ = false;
};

}  // namespace rasterflow::test
