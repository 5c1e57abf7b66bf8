#include "rasterflow/hpc/checkpoint.hpp"

#include <fcntl.h>
#include <link.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "rasterflow/errors.hpp"

namespace rasterflow {
namespace json = boost::json;

namespace {

// SHA-256 over pieces fed in turn.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void add(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &n);
    static const char* const kHex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

// Adds `length` bytes of `fd` from `offset` (to the end when length is -1); false on a read error.
bool add_file(Sha256& h, int fd, off_t offset, std::int64_t length) {
  std::vector<char> buf(1 << 20);
  while (length != 0) {
    const std::size_t want = length < 0 ? buf.size() : std::min<std::size_t>(buf.size(), length);
    const ssize_t n = ::pread(fd, buf.data(), want, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return length < 0;
    h.add(buf.data(), static_cast<std::size_t>(n));
    offset += n;
    if (length > 0) length -= n;
  }
  return true;
}

int collect_library(dl_phdr_info* info, std::size_t, void* data) {
  const std::string name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  if (name.find("librasterflow") != std::string::npos) static_cast<std::set<std::string>*>(data)->insert(name);
  return 0;
}

json::object identity_json(const RunIdentity& id) {
  json::object config;
  for (const auto& [key, hash] : id.config) config[key] = hash;
  json::array inputs;
  for (const auto& in : id.inputs)
    inputs.push_back(json::object{{"node", in.node}, {"path", in.path}, {"size", in.size}, {"mtime_ns", in.mtime_ns}});
  return json::object{{"graph_sha256", id.graph},
                      {"config_sha256", config},
                      {"inputs", inputs},
                      {"version", id.version},
                      {"binary_sha256", id.binary},
                      {"row_begin", id.row_begin},
                      {"row_end", id.row_end},
                      {"grid_width", id.grid_width},
                      {"grid_height", id.grid_height},
                      {"rank", id.rank},
                      {"ranks", id.ranks}};
}

std::string str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) throw std::invalid_argument(std::string("missing text \"") + key + "\"");
  return std::string(v->as_string());
}

std::int64_t num(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) throw std::invalid_argument(std::string("missing number \"") + key + "\"");
  return v->to_number<std::int64_t>();
}

RunIdentity identity_of(const json::object& o) {
  RunIdentity id;
  id.graph = str(o, "graph_sha256");
  for (const auto& [key, value] : o.at("config_sha256").as_object()) id.config[std::string(key)] = value.as_string();
  for (const auto& v : o.at("inputs").as_array()) {
    const json::object& in = v.as_object();
    id.inputs.push_back({str(in, "node"), str(in, "path"), num(in, "size"), num(in, "mtime_ns")});
  }
  id.version = str(o, "version");
  id.binary = str(o, "binary_sha256");
  id.row_begin = num(o, "row_begin");
  id.row_end = num(o, "row_end");
  id.grid_width = num(o, "grid_width");
  id.grid_height = num(o, "grid_height");
  id.rank = static_cast<int>(num(o, "rank"));
  id.ranks = static_cast<int>(num(o, "ranks"));
  return id;
}

std::string input_text(const InputIdentity& in) {
  return in.size < 0 ? "not a local file"
                     : std::to_string(in.size) + " bytes, modified at " + std::to_string(in.mtime_ns / 1000000000) +
                           "." + std::to_string(in.mtime_ns % 1000000000) + " s";
}

constexpr int kFormat = 1;  // the checkpoint file's format version

}  // namespace

std::string sha256_hex(const std::string& text) {
  Sha256 h;
  h.add(text.data(), text.size());
  return h.hex();
}

std::string file_sha256(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  Sha256 h;
  const bool ok = add_file(h, fd, 0, -1);
  ::close(fd);
  return ok ? h.hex() : "";
}

std::string tail_sha256(const std::filesystem::path& file, std::uint64_t end, std::uint64_t tail) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  const std::uint64_t from = end > tail ? end - tail : 0;
  Sha256 h;
  const bool ok = add_file(h, fd, static_cast<off_t>(from), static_cast<std::int64_t>(end - from));
  ::close(fd);
  return ok ? h.hex() : "";
}

const std::string& binary_identity() {
  static const std::string identity = [] {
    std::set<std::string> libraries;
    dl_iterate_phdr(collect_library, &libraries);
    std::string all = "exe " + file_sha256("/proc/self/exe") + "\n";
    for (const auto& lib : libraries)
      all += std::filesystem::path(lib).filename().string() + " " + file_sha256(lib) + "\n";
    return sha256_hex(all);
  }();
  return identity;
}

std::vector<std::string> identity_differences(const RunIdentity& saved, const RunIdentity& now) {
  std::vector<std::string> out;
  if (saved.version != now.version)
    out.push_back("rasterflow's version: " + saved.version + " then, " + now.version + " now");
  else if (saved.binary != now.binary)
    out.push_back("the rasterflow binary or its libraries changed (SHA-256 differs)");
  if (saved.graph != now.graph) out.push_back("the graph changed (its text or a --set nodes.* override)");
  std::set<std::string> keys;
  for (const auto& [k, v] : saved.config) keys.insert(k);
  for (const auto& [k, v] : now.config) keys.insert(k);
  for (const auto& k : keys) {
    const auto a = saved.config.find(k);
    const auto b = now.config.find(k);
    if (a == saved.config.end() || b == now.config.end() || a->second != b->second)
      out.push_back("configuration key " + k + " changed");
  }
  for (const auto& in : now.inputs) {
    const auto was = std::find_if(saved.inputs.begin(), saved.inputs.end(),
                                  [&](const InputIdentity& s) { return s.node == in.node && s.path == in.path; });
    if (was == saved.inputs.end()) {
      out.push_back("input " + in.path + " of node \"" + in.node + "\" was not an input then");
    } else if (was->size != in.size || was->mtime_ns != in.mtime_ns) {
      out.push_back("input " + in.path + " of node \"" + in.node + "\" changed (" + input_text(*was) + " then, " +
                    (in.size < 0 && was->size >= 0 ? std::string("missing") : input_text(in)) + " now)");
    }
  }
  for (const auto& in : saved.inputs) {
    const bool kept = std::any_of(now.inputs.begin(), now.inputs.end(),
                                  [&](const InputIdentity& n) { return n.node == in.node && n.path == in.path; });
    if (!kept) out.push_back("input " + in.path + " of node \"" + in.node + "\" is no longer an input");
  }
  if (saved.grid_width != now.grid_width || saved.grid_height != now.grid_height) {
    out.push_back("the grid: " + std::to_string(saved.grid_width) + " x " + std::to_string(saved.grid_height) +
                  " then, " + std::to_string(now.grid_width) + " x " + std::to_string(now.grid_height) + " now");
  }
  if (saved.ranks != now.ranks || saved.rank != now.rank || saved.row_begin != now.row_begin ||
      saved.row_end != now.row_end) {
    out.push_back("the band: rank " + std::to_string(saved.rank) + " of " + std::to_string(saved.ranks) + ", rows " +
                  std::to_string(saved.row_begin) + "-" + std::to_string(saved.row_end) + " then; rank " +
                  std::to_string(now.rank) + " of " + std::to_string(now.ranks) + ", rows " +
                  std::to_string(now.row_begin) + "-" + std::to_string(now.row_end) + " now (launch as many ranks)");
  }
  return out;
}

std::string checkpoint_json(const Checkpoint& c) {
  json::array sinks;
  for (const auto& s : c.sinks) {
    json::object sink{{"id", s.id},
                      {"partial", s.state.partial.string()},
                      {"bytes", s.state.bytes},
                      {"rows", s.state.rows},
                      {"tail_sha256", s.tail_sha256}};
    if (!s.state.data.empty()) sink["data"] = s.state.data;
    sinks.push_back(std::move(sink));
  }
  json::object root{{"rasterflow_checkpoint", kFormat},
                    {"identity", identity_json(c.identity)},
                    {"next_row", c.next_row},
                    {"sinks", sinks},
                    {"database", c.database}};
  if (c.experiment) root["experiment"] = *c.experiment;
  return json::serialize(root) + "\n";
}

Checkpoint read_checkpoint(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UsageError(file.string() + ": cannot read the checkpoint");
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json::object root = json::parse(text.str()).as_object();
    if (num(root, "rasterflow_checkpoint") != kFormat)
      throw std::invalid_argument("format " + std::to_string(num(root, "rasterflow_checkpoint")) + ", expected " +
                                  std::to_string(kFormat));
    Checkpoint c;
    c.identity = identity_of(root.at("identity").as_object());
    c.next_row = num(root, "next_row");
    for (const auto& v : root.at("sinks").as_array()) {
      const json::object& s = v.as_object();
      c.sinks.push_back({str(s, "id"),
                         {str(s, "partial"), static_cast<std::uint64_t>(num(s, "bytes")),
                          static_cast<std::uint64_t>(num(s, "rows")), s.contains("data") ? str(s, "data") : ""},
                         str(s, "tail_sha256")});
    }
    if (const json::value* e = root.if_contains("experiment")) c.experiment = e->to_number<std::int64_t>();
    c.database = str(root, "database");
    return c;
  } catch (const std::exception& e) {
    throw UsageError(file.string() + ": not a rasterflow checkpoint (" + e.what() + ")");
  }
}

void write_checkpoint(const std::filesystem::path& file, const Checkpoint& c) {
  const std::string text = checkpoint_json(c);
  const std::filesystem::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("checkpoint: cannot create " + tmp.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = n < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw IoError("checkpoint: writing " + tmp.string() + " failed: " + std::strerror(saved));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), file.c_str()) != 0) {
    const int why = synced ? errno : saved;
    ::unlink(tmp.c_str());
    throw IoError("checkpoint: cannot write " + file.string() + ": " + std::strerror(why));
  }
  const std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace rasterflow
