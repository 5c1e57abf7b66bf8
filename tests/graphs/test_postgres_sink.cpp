#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <string>

#include "support/postgres.hpp"
#include "support/test_support.hpp"

using rasterflow::test::run_cli;
using rasterflow::test::run_shell;

namespace {

// Runs `sql` with psql on `url`; returns its unaligned, tuples-only output (no trailing newline).
std::string psql(const rasterflow::test::TempDir& dir, const std::string& url, const std::string& sql) {
  rasterflow::test::write_text(dir / "query.sql", sql);
  std::string out;
  const int code =
      run_shell("psql '" + url + "' -X -q -At -v ON_ERROR_STOP=1 -f " + (dir / "query.sql").string(), &out);
  REQUIRE_MESSAGE(code == 0, sql << ": " << out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// The demo graph with its csv_sink replaced by a postgres_sink with `options` (JSON members),
// on a grid of `resolution` degrees.
std::string pg_graph(const rasterflow::test::TempDir& dir, const std::string& name, const std::string& options,
                     const std::string& resolution = "0.05") {
  std::string graph = rasterflow::test::read_text(dir / "graphs/demo.json");
  const std::string csv = R"("type": "csv_sink", "inputs": ["merged"], "path": "merged.csv")";
  graph.replace(graph.find(csv), csv.size(), R"("type": "postgres_sink", "inputs": ["merged"])" + options);
  graph.replace(graph.find(R"("resolution": 0.05)"), std::string(R"("resolution": 0.05)").size(),
                R"("resolution": )" + resolution);
  const auto path = dir / "graphs" / (name + ".json");
  rasterflow::test::write_text(path, graph);
  return path.string();
}

std::string options_for(const std::string& url, const std::string& table, const std::string& if_exists = "") {
  std::string o = R"(, "url": ")" + url + R"(", "table": ")" + table + "\"";
  if (!if_exists.empty()) o += R"(, "if_exists": ")" + if_exists + "\"";
  return o;
}

const char* const kExists = "SELECT to_regclass('public.t') IS NOT NULL";

}  // namespace

TEST_CASE("PostgresSink.Copy.RowsTypesAndValuesEqualTheCsv" * doctest::timeout(180)) {
  REQUIRE(rasterflow::test::TestPostgres::available());
  rasterflow::test::TempDir dir;
  const std::string demo = rasterflow::test::make_demo_project(dir);
  rasterflow::test::TestPostgres server;
  std::string out;
  REQUIRE(run_cli("run " + demo + " --output-dir " + (dir / "csv").string(), &out) == 0);
  const std::string csv = rasterflow::test::read_text(dir / "csv/merged.csv");
  const std::string url = server.url();
  const std::string graph = pg_graph(dir, "pg", options_for(url, "t"));
  REQUIRE_MESSAGE(
      run_cli("run " + graph + " --output-dir " + (dir / "o").string() + " --set merge.chunk_size=7", &out) == 0, out);
  CHECK(psql(dir, url,
             "SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY ordinal_position) FROM "
             "information_schema.columns WHERE table_name = 't'") ==
        "x double precision,y double precision,temperature real,elevation double precision,landcover smallint");
  // The table read back in raster order, as CSV: the same bytes as the csv_sink's file.
  const std::string back =
      psql(dir, url, "COPY (SELECT * FROM t ORDER BY y DESC, x) TO STDOUT WITH (FORMAT csv, HEADER true)");
  CHECK(back + "\n" == csv);

  // if_exists: fail is refused before running; append adds the rows; replace starts afresh.
  const std::string rows = psql(dir, url, "SELECT count(*) FROM t");
  CHECK(run_cli("run " + graph + " --output-dir " + (dir / "o").string(), &out) == 2);
  CHECK_MESSAGE(
      out.find(R"(node "table" (postgres_sink): option "table": table "t" already exists)") != std::string::npos, out);
  REQUIRE(run_cli("run " + pg_graph(dir, "append", options_for(url, "t", "append")) + " --output-dir " +
                      (dir / "o").string(),
                  &out) == 0);
  CHECK(psql(dir, url, "SELECT count(*) FROM t") == std::to_string(2 * std::stoll(rows)));
  CHECK(psql(dir, url, "SELECT count(*) FROM (SELECT DISTINCT * FROM t) d") == rows);
  REQUIRE(run_cli("run " + pg_graph(dir, "replace", options_for(url, "t", "replace")) + " --output-dir " +
                      (dir / "o").string(),
                  &out) == 0);
  CHECK(psql(dir, url, "SELECT count(*) FROM t") == rows);
  // append onto a table without the merged columns: refused before running.
  psql(dir, url, "CREATE TABLE other (x double precision, y double precision, temperature real)");
  CHECK(run_cli("run " + pg_graph(dir, "other", options_for(url, "other", "append")) + " --output-dir " +
                    (dir / "o").string(),
                &out) == 2);
  CHECK_MESSAGE(out.find(R"(table "other" has no column for: elevation, landcover)") != std::string::npos, out);
}

TEST_CASE("PostgresSink.Failure.NodeErrorLeavesTheDatabaseAsItWas" * doctest::timeout(180)) {
  REQUIRE(rasterflow::test::TestPostgres::available());
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  rasterflow::test::TestPostgres server;
  const std::string url = server.url();
  std::string out;
  // The land cover read through a VRT whose southern half is not a raster: reading fails in the
  // middle of the run, after the northern tiles' rows were sent.
  const std::string data = (dir / "sample_data").string();
  REQUIRE(run_shell("gdal_translate -q -srcwin 0 0 250 60 " + data + "/landcover.tif " + data + "/north.tif", &out) ==
          0);
  rasterflow::test::write_text(data + "/south.tif", "this is not a GeoTIFF");
  REQUIRE(run_shell("gdal_translate -q -of VRT " + data + "/landcover.tif " + data + "/mosaic.vrt", &out) == 0);
  std::string vrt = rasterflow::test::read_text(data + "/mosaic.vrt");
  const auto open = vrt.find("<SimpleSource>");
  const auto close = vrt.find("</SimpleSource>") + std::string("</SimpleSource>").size();
  REQUIRE(open != std::string::npos);
  const auto part = [](const std::string& file, int y, int rows) {
    const std::string size = R"(xSize="250" ySize=")" + std::to_string(rows) + R"(")";
    return R"(<SimpleSource><SourceFilename relativeToVRT="1">)" + file +
           R"(</SourceFilename><SourceBand>1</SourceBand><SrcRect xOff="0" yOff="0" )" + size +
           R"(/><DstRect xOff="0" yOff=")" + std::to_string(y) + R"(" )" + size + "/></SimpleSource>";
  };
  vrt = vrt.substr(0, open) + part("north.tif", 0, 60) + part("south.tif", 60, 65) + vrt.substr(close);
  rasterflow::test::write_text(data + "/mosaic.vrt", vrt);
  REQUIRE(run_shell("gdalinfo " + data + "/landcover.tif | grep -q 'Size is 250, 125'", &out) == 0);
  const auto broken = [&](const std::string& name, const std::string& options) {
    std::string graph = rasterflow::test::read_text(pg_graph(dir, name, options));
    graph.replace(graph.find("landcover.tif"), std::string("landcover.tif").size(), "mosaic.vrt");
    rasterflow::test::write_text(dir / "graphs" / (name + ".json"), graph);
    return (dir / "graphs" / (name + ".json")).string();
  };
  CHECK(run_cli("run " + broken("new", options_for(url, "t")) + " --output-dir " + (dir / "o").string() +
                    " --set merge.chunk_size=4 --threads 1",
                &out) == 1);
  CHECK_MESSAGE(out.find("south.tif") != std::string::npos, out);
  CHECK(psql(dir, url, kExists) == "f");
  // With a PostGIS geometry and create_postgis: the extension made in the run's transaction is
  // rolled back with the table.
  CHECK(run_cli("run " + broken("gis", options_for(url, "t") + R"(, "geometry": "geom", "create_postgis": true)") +
                    " --output-dir " + (dir / "o").string() + " --set merge.chunk_size=4 --threads 1",
                &out) == 1);
  CHECK_MESSAGE(out.find("south.tif") != std::string::npos, out);
  CHECK(psql(dir, url, kExists) == "f");
  CHECK(psql(dir, url, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'") == "0");
  // replace and append onto an existing table: the failed run leaves it as it was.
  psql(dir, url,
       "CREATE TABLE t (x double precision, y double precision, temperature real, elevation double precision, "
       "landcover smallint); INSERT INTO t VALUES (1, 2, 3, 4, 5)");
  for (const std::string mode : {"replace", "append"}) {
    CHECK(run_cli("run " + broken(mode, options_for(url, "t", mode)) + " --output-dir " + (dir / "o").string() +
                      " --set merge.chunk_size=4 --threads 1",
                  &out) == 1);
    CHECK_MESSAGE(psql(dir, url, "SELECT string_agg(x || ',' || landcover, ';') FROM t") == "1,5", mode);
  }
}

TEST_CASE("PostgresSink.Failure.SigtermAndServerStopLeaveNoTable" * doctest::timeout(240)) {
  REQUIRE(rasterflow::test::TestPostgres::available());
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  rasterflow::test::TestPostgres server;
  const std::string url = server.url();
  std::string out;
  // 8 M cells at 1/400 degree: several seconds of COPY. Started in the background; once the
  // server shows its COPY running, the run gets SIGTERM (or the server stops).
  const std::string graph = pg_graph(dir, "big", options_for(url, "t"), "0.0025");
  rasterflow::test::write_text(dir / "copying.sql", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %'");
  const std::string wait_for_copy =
      "for i in $(seq 100); do n=$(psql '" + url + "' -X -At -f " + (dir / "copying.sql").string() +
      "); [ \"$n\" = 1 ] && break; sleep 0.1; done; [ \"$n\" = 1 ] || exit 99; sleep 0.5; ";
  const std::string start = std::string(RASTERFLOW_CLI) + " run " + graph + " --output-dir " + (dir / "o").string() +
                            " > " + (dir / "run.log").string() + " 2>&1 & pid=$!; echo $pid > " +
                            (dir / "pid").string() + "; ";
  CHECK(run_shell(start + wait_for_copy + "kill -TERM $pid; wait $pid", &out) == 130);
  CHECK_MESSAGE(rasterflow::test::read_text(dir / "run.log").find("interrupted") != std::string::npos,
                rasterflow::test::read_text(dir / "run.log"));
  CHECK(psql(dir, url, kExists) == "f");
  // The server stops in the middle of the COPY: the run fails, the transaction never commits.
  const int code = run_shell(start + wait_for_copy + "echo stopping; exit 0", &out);
  REQUIRE(code == 0);
  server.stop();
  // The run ends on its own once its COPY fails (the process is not this shell's child any more).
  REQUIRE(run_shell("pid=$(cat " + (dir / "pid").string() +
                        "); for i in $(seq 300); do kill -0 $pid 2>/dev/null || exit 0; sleep 0.2; done; exit 1",
                    &out) == 0);
  const std::string log = rasterflow::test::read_text(dir / "run.log");
  CHECK_MESSAGE(log.find(R"(node "table" (postgres_sink))") != std::string::npos, log);
  server.start();
  CHECK(psql(dir, url, kExists) == "f");
}

TEST_CASE("PostgresSink.Secret.PasswordMaskedInLogsPlanAndMetrics" * doctest::timeout(120)) {
  REQUIRE(rasterflow::test::TestPostgres::available());
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  rasterflow::test::TestPostgres server;
  const std::string url = server.url("pw-s3cret");  // trust authentication: any password is accepted
  std::string out;
  const std::string graph = pg_graph(dir, "pg", options_for(url, "t"));
  REQUIRE_MESSAGE(run_cli("run " + graph + " --output-dir " + (dir / "o").string() + " --log-level debug", &out) == 0,
                  out);
  CHECK(out.find("pw-s3cret") == std::string::npos);
  CHECK(psql(dir, server.url(), "SELECT count(*) > 1000 FROM t") == "t");
  const std::string replace = pg_graph(dir, "replace", options_for(url, "t", "replace"));
  REQUIRE_MESSAGE(run_cli("plan " + replace, &out) == 0, out);
  CHECK(out.find("pw-s3cret") == std::string::npos);
  CHECK_MESSAGE(out.find("postgresql://postgres:***@") != std::string::npos, out);
  REQUIRE(run_cli("plan " + replace + " --format json", &out) == 0);
  CHECK(out.find("pw-s3cret") == std::string::npos);
  // The metrics database holds the graph (with its options) and the run's log lines.
  CHECK(run_shell("grep -c pw-s3cret " + (dir / "o/rasterflow_metrics.sqlite").string(), &out) == 1);
  CHECK(run_shell("grep -c 'postgres:\\*\\*\\*@' " + (dir / "o/rasterflow_metrics.sqlite").string(), &out) == 0);
  // MPI is refused before anything runs (one transaction cannot span processes).
#ifdef RASTERFLOW_MPIEXEC
  std::string mpirun = std::string(RASTERFLOW_MPIEXEC) +
                       " --oversubscribe -n 2 --mca btl self,vader --mca btl_vader_single_copy_mechanism none ";
  if (::geteuid() == 0) mpirun += "--allow-run-as-root ";
  CHECK(run_shell(mpirun + RASTERFLOW_CLI + " run " +
                      pg_graph(dir, "mpi", options_for(server.url("pw-s3cret"), "t_mpi")) + " --output-dir " +
                      (dir / "m").string(),
                  &out) == 2);
  CHECK_MESSAGE(out.find("MPI ranks cannot share; run this graph as one process") != std::string::npos, out);
  CHECK(out.find("pw-s3cret") == std::string::npos);
#endif
  CHECK(psql(dir, server.url(), "SELECT to_regclass('public.t_mpi') IS NOT NULL") == "f");
  // A failure's message masks it too.
  CHECK(run_cli("run " + graph + " --output-dir " + (dir / "o").string(), &out) == 2);
  CHECK(out.find("already exists") != std::string::npos);
  CHECK(out.find("pw-s3cret") == std::string::npos);
}

TEST_CASE("PostgresSink.BadInput.UnreachableDatabaseAndMpi" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  const std::string graph =
      pg_graph(dir, "pg", options_for("postgresql://postgres:hidden-pw@/postgres?host=/nonexistent-socket-dir", "t"));
  CHECK(run_cli("run " + graph + " --output-dir " + (dir / "o").string(), &out) == 2);
  CHECK_MESSAGE(
      out.find(R"(node "table" (postgres_sink): option "url": cannot connect to postgresql://postgres:***@)") !=
          std::string::npos,
      out);
  CHECK(out.find("hidden-pw") == std::string::npos);
  CHECK(run_cli("run " + pg_graph(dir, "bad", R"(, "table": "a.b.c")") + " --output-dir " + (dir / "o").string(),
                &out) == 2);
  CHECK_MESSAGE(out.find(R"(option "table": "a.b.c" is not a table or schema.table name)") != std::string::npos, out);
}

TEST_CASE("PostgresSink.Geometry.PostgisPointsEqualXyWithTheGridSrid" * doctest::timeout(240)) {
  REQUIRE(rasterflow::test::TestPostgres::available());
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  rasterflow::test::TestPostgres server;
  const std::string url = server.url();
  std::string out;
  const auto run = [&](const std::string& name, const std::string& options, std::string extra = "") {
    return run_cli("run " + pg_graph(dir, name, options) + " --output-dir " + (dir / "o").string() + " " + extra, &out);
  };
  // No PostGIS in the database: refused before anything is written, naming node and option.
  CHECK(run("nogis", options_for(url, "t") + R"(, "geometry": "geom")") == 2);
  CHECK_MESSAGE(out.find(R"(node "table" (postgres_sink): option "geometry": the database has no PostGIS extension)") !=
                    std::string::npos,
                out);
  CHECK(psql(dir, url, kExists) == "f");
  CHECK(psql(dir, url, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'") == "0");
  // Options that need a geometry column, without one.
  CHECK(run("nogeom", options_for(url, "t") + R"(, "srid": 4326)") == 2);
  CHECK_MESSAGE(out.find(R"(option "srid": no geometry column (set option "geometry"))") != std::string::npos, out);
  // A geometry column named like a merged column.
  CHECK(run("clash", options_for(url, "t") + R"(, "geometry": "elevation", "create_postgis": true)") == 2);
  CHECK_MESSAGE(out.find(R"(option "geometry": "elevation" is already a column of the table)") != std::string::npos,
                out);

  // create_postgis: the extension is made in the run's transaction; the SRID is the grid's EPSG code.
  REQUIRE_MESSAGE(run("gis", options_for(url, "t") + R"(, "geometry": "geom", "create_postgis": true)",
                      "--set merge.chunk_size=7") == 0,
                  out);
  CHECK(psql(dir, url, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'") == "1");
  CHECK(psql(dir, url,
             "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND "
             "attname = 'geom'") == "geometry(Point,4326)");
  CHECK(psql(dir, url, "SELECT type || ' ' || srid FROM geometry_columns WHERE f_table_name = 't'") == "POINT 4326");
  const std::string rows = psql(dir, url, "SELECT count(*) FROM t");
  REQUIRE(std::stoll(rows) > 1000);
  // Every row's point is exactly its (x, y), with SRID 4326.
  CHECK(psql(dir, url,
             "SELECT count(*) FROM t WHERE geom IS NOT NULL AND ST_SRID(geom) = 4326 AND ST_X(geom) = x AND "
             "ST_Y(geom) = y") == rows);
  // if_exists fail still refuses an existing table with a geometry asked for.
  CHECK(run("fail", options_for(url, "t") + R"(, "geometry": "geom")") == 2);
  CHECK_MESSAGE(out.find(R"(option "table": table "t" already exists)") != std::string::npos, out);
  // append checks the column's type and SRID before running.
  CHECK(run("srid", options_for(url, "t", "append") + R"(, "geometry": "geom", "srid": 3857)") == 2);
  CHECK_MESSAGE(out.find(R"(option "geometry": column "geom" of table "t" is geometry(Point,4326), not )"
                         R"(geometry(Point,3857) (if_exists is "append"))") != std::string::npos,
                out);
  CHECK(run("unknown", options_for(url, "u") + R"(, "geometry": "geom", "srid": 999999)") == 2);
  CHECK_MESSAGE(out.find(R"(option "srid": SRID 999999 is not in the database's spatial_ref_sys)") != std::string::npos,
                out);
  // replace with a GiST index; append keeps it (one index) and adds points as exact.
  REQUIRE_MESSAGE(
      run("index", options_for(url, "t", "replace") + R"(, "geometry": "geom", "geometry_index": true)") == 0, out);
  REQUIRE_MESSAGE(
      run("again", options_for(url, "t", "append") + R"(, "geometry": "geom", "geometry_index": true)") == 0, out);
  CHECK(psql(dir, url,
             "SELECT indexname || ' ' || (indexdef LIKE '%USING gist (geom)%') FROM pg_indexes WHERE "
             "tablename = 't'") == "t_geom_gist true");
  CHECK(psql(dir, url, "SELECT count(*) FROM t WHERE ST_X(geom) = x AND ST_Y(geom) = y AND ST_SRID(geom) = 4326") ==
        std::to_string(2 * std::stoll(rows)));
  // The index answers a bounding-box query as the plain columns do.
  CHECK(psql(dir, url, "SELECT count(*) FROM t WHERE geom && ST_MakeEnvelope(-10, 40, 0, 45, 4326)") ==
        psql(dir, url, "SELECT count(*) FROM t WHERE x BETWEEN -10 AND 0 AND y BETWEEN 40 AND 45"));
  // An SRID outside spatial_ref_sys in a database whose PostGIS the run creates: refused at the
  // start of the transaction, which takes the extension back with it.
  psql(dir, url, "CREATE DATABASE fresh");
  std::string fresh = url;
  fresh.replace(fresh.find("/postgres?"), std::string("/postgres?").size(), "/fresh?");
  CHECK(run("fresh", options_for(fresh, "t") + R"(, "geometry": "geom", "create_postgis": true, "srid": 999999)") == 1);
  CHECK_MESSAGE(out.find(R"(option "srid": SRID 999999 is not in PostGIS's spatial_ref_sys)") != std::string::npos,
                out);
  CHECK(psql(dir, fresh, kExists) == "f");
  CHECK(psql(dir, fresh, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'") == "0");
}

TEST_CASE("PostgresSink.Geometry.CrsWithoutEpsgCodeNeedsSrid" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  // A spherical longitude/latitude CRS (no EPSG code): the SRID must be given. Refused while
  // planning, before any connection is tried (the URL points nowhere).
  std::string graph = rasterflow::test::read_text(dir / "graphs/demo.json");
  const std::string epsg = R"("crs": "EPSG:4326")";
  graph.replace(graph.find(epsg), epsg.size(), R"("crs": "+proj=longlat +R=6370997 +no_defs")");
  rasterflow::test::write_text(dir / "graphs/demo.json", graph);
  CHECK(run_cli(
            "run " +
                pg_graph(dir, "sphere", options_for("host=/nonexistent-socket-dir", "t") + R"(, "geometry": "geom")") +
                " --output-dir " + (dir / "o").string(),
            &out) == 2);
  CHECK_MESSAGE(out.find(R"(node "table" (postgres_sink): option "geometry": the grid's CRS has no EPSG code)") !=
                    std::string::npos,
                out);
}

// One writer per table (issue #33): while a run writes table t (held with SIGSTOP once it holds
// its advisory lock), a second run on t is refused before it touches anything (exit 2, naming
// the table and the holder: pid and host); the first then commits all its rows. A run killed
// (SIGKILL) leaves no lock behind: the server drops it with the connection.
TEST_CASE("PostgresSink.OneWriter.SecondRunOnTheTableRefused" * doctest::timeout(240)) {
  REQUIRE(rasterflow::test::TestPostgres::available());
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  rasterflow::test::TestPostgres server;
  const std::string url = server.url();
  // 2 M rows at 0.005 degree: a run of seconds, so that the poll below (a psql each time, slow on
  // a loaded machine) sees the lock before the run ends (at 0.02 it once ended in 0.3 s first).
  const std::string graph = pg_graph(dir, "pg", options_for(url, "t", "replace"), "0.005");
  const std::string run = std::string(RASTERFLOW_CLI) + " run " + graph + " --output-dir " + (dir / "o").string() +
                          " --threads 1 --progress never --set metrics.backend=none";
  const auto start = [&](const std::string& log) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", ("exec " + run + " > " + (dir / log).string() + " 2>&1").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  };
  const std::string holders =
      "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND "
      "a.application_name LIKE 'rasterflow pid %'";
  const pid_t first = start("first.txt");
  bool holding = false;
  for (int i = 0; i < 600 && !holding; ++i) {
    holding = psql(dir, url, holders) == "1";
    if (!holding) ::usleep(20000);
  }
  ::kill(first, SIGSTOP);
  int status = 0;
  REQUIRE_MESSAGE(holding, rasterflow::test::read_text(dir / "first.txt"));
  REQUIRE(::waitpid(first, &status, WNOHANG) == 0);  // stopped, not ended
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string out;
  CHECK(run_shell(run, &out) == 2);
  CHECK_MESSAGE(out.find("node \"table\" (postgres_sink): the output table \"t\" is being written by another run "
                         "(rasterflow pid " +
                         std::to_string(first) + " on host " + host) != std::string::npos,
                out);
  ::kill(first, SIGCONT);
  REQUIRE(::waitpid(first, &status, 0) == first);
  REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), rasterflow::test::read_text(dir / "first.txt"));
  const std::string rows = psql(dir, url, "SELECT count(*) FROM t");
  CHECK(std::stoll(rows) > 0);
  CHECK(psql(dir, url, holders) == "0");
  // Killed while holding the lock: the next run takes it.
  const pid_t killed = start("killed.txt");
  holding = false;
  for (int i = 0; i < 600 && !holding; ++i) {
    holding = psql(dir, url, holders) == "1";
    if (!holding) ::usleep(20000);
  }
  ::kill(killed, SIGKILL);
  ::waitpid(killed, &status, 0);
  // The server ends the dead client's session (and its lock) as soon as it sees the socket closed.
  for (int i = 0; i < 500 && psql(dir, url, holders) != "0"; ++i) ::usleep(20000);
  REQUIRE_MESSAGE(run_shell(run, &out) == 0, out);
  CHECK(psql(dir, url, "SELECT count(*) FROM t") == rows);
}

TEST_CASE("PostgresSink.Units.ColumnCommentsCarryTheSourcesUnits" * doctest::timeout(180)) {
  // #30: each column's units, where its source has them, as the column's comment.
  REQUIRE(rasterflow::test::TestPostgres::available());
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  REQUIRE_MESSAGE(run_shell("/usr/bin/python3 -c \"from osgeo import gdal; d = gdal.Open('" +
                                (dir / "sample_data/temperature.tif").string() +
                                "', gdal.GA_Update); d.GetRasterBand(1).SetUnitType('degC'); d = None\" 2>&1",
                            &out) == 0,
                  out);
  rasterflow::test::TestPostgres server;
  const std::string url = server.url();
  REQUIRE_MESSAGE(
      run_cli("run " + pg_graph(dir, "pg", options_for(url, "t")) + " --output-dir " + (dir / "o").string(), &out) == 0,
      out);
  CHECK(psql(dir, url,
             "SELECT coalesce(col_description('t'::regclass, ordinal_position), '-') FROM "
             "information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position") ==
        "-\n-\nunits: degC\n-\n-");
}
