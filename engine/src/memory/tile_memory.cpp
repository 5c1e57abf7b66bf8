#include "rasterflow/node/tile_memory.hpp"

#include <hwloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace rasterflow::tile_memory {
namespace {

// Below this a buffer comes from malloc: pooling pays off for pages, not for small vectors.
constexpr std::size_t kLarge = 256 * 1024;
constexpr std::size_t kHeader = 64;  // keeps the payload 64-byte aligned

struct Header {
  std::size_t mapped = 0;
  int domain = 0;
  std::uint32_t generation = 0;
};
static_assert(sizeof(Header) <= kHeader);

struct Block {
  void* base = nullptr;
  std::size_t mapped = 0;
};

struct State {
  std::mutex mutex;
  std::uint32_t generation = 1;
  std::vector<unsigned> nodes{0};
  bool bind = false;
  std::uint64_t cap = 0;
  std::uint64_t pooled = 0;
  std::string refused;  // why the kernel refused to bind, once
  std::vector<std::vector<Block>> free{1};
  hwloc_topology_t topology = nullptr;
  std::vector<hwloc_bitmap_t> nodesets;

  void drop_binding() {
    for (auto s : nodesets) hwloc_bitmap_free(s);
    nodesets.clear();
    if (topology) hwloc_topology_destroy(topology);
    topology = nullptr;
  }
  void unmap_pooled() {
    for (auto& list : free) {
      for (const auto& b : list) ::munmap(b.base, b.mapped);
      list.clear();
    }
    pooled = 0;
  }
};

State& state() {
  static State* s = new State;  // never destroyed: buffers may be freed during static destruction
  return *s;
}

thread_local int current_domain = 0;

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

std::string configure(const Layout& layout) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.unmap_pooled();
  s.drop_binding();
  ++s.generation;
  s.nodes = layout.nodes.empty() ? std::vector<unsigned>{0} : layout.nodes;
  s.free.assign(s.nodes.size(), {});
  s.cap = layout.pool_cap;
  s.bind = false;
  s.refused.clear();
  if (!layout.bind) return {};
  if (hwloc_topology_init(&s.topology) != 0 || hwloc_topology_load(s.topology) != 0) {
    s.drop_binding();
    return "hwloc could not load this machine's topology: tile buffers are placed by first touch";
  }
  for (const unsigned node : s.nodes) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    hwloc_bitmap_only(set, node);
    s.nodesets.push_back(set);
  }
  s.bind = true;
  return {};
}

void trim() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.unmap_pooled();
}

std::string refusal() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.refused;
}

std::uint64_t pooled_bytes() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.pooled;
}

DomainScope::DomainScope(int domain) noexcept : previous_(current_domain) { current_domain = domain; }
DomainScope::~DomainScope() { current_domain = previous_; }

void* allocate(std::size_t bytes) {
  if (bytes < kLarge) {
    void* p = std::malloc(std::max<std::size_t>(bytes, 1));
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  const std::size_t page = page_size();
  const std::size_t mapped = (bytes + kHeader + page - 1) / page * page;
  State& s = state();
  int domain = 0;
  std::uint32_t generation = 0;
  void* base = nullptr;
  bool bind = false;
  {
    std::lock_guard lock(s.mutex);
    domain = std::clamp(current_domain, 0, static_cast<int>(s.nodes.size()) - 1);
    generation = s.generation;
    auto& list = s.free[static_cast<std::size_t>(domain)];
    const auto it = std::find_if(list.rbegin(), list.rend(), [mapped](const Block& b) { return b.mapped == mapped; });
    if (it != list.rend()) {
      base = it->base;
      s.pooled -= mapped;
      list.erase(std::next(it).base());
    }
    bind = s.bind;
    if (base == nullptr) {
      base = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base == MAP_FAILED) throw std::bad_alloc();
      // Bound before the first touch, so every page is placed on the domain's node. A refusal
      // leaves the pages to first touch by this (bound) thread.
      if (bind) {
        if (hwloc_set_area_membind(s.topology, base, mapped, s.nodesets[static_cast<std::size_t>(domain)],
                                   HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET) != 0) {
          s.refused = std::string("the kernel refused to bind tile buffers to NUMA node ") +
                      std::to_string(s.nodes[static_cast<std::size_t>(domain)]) + " (" + std::strerror(errno) +
                      "): they are placed by first touch";
          s.bind = false;
        }
      }
    }
  }
  auto* h = static_cast<Header*>(base);
  h->mapped = mapped;
  h->domain = domain;
  h->generation = generation;
  return static_cast<char*>(base) + kHeader;
}

void deallocate(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes < kLarge) {
    std::free(p);
    return;
  }
  void* base = static_cast<char*>(p) - kHeader;
  const Header h = *static_cast<Header*>(base);
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    if (h.generation == s.generation && s.pooled + h.mapped <= s.cap &&
        static_cast<std::size_t>(h.domain) < s.free.size()) {
      s.free[static_cast<std::size_t>(h.domain)].push_back(Block{base, h.mapped});
      s.pooled += h.mapped;
      return;
    }
  }
  ::munmap(base, h.mapped);
}

}  // namespace rasterflow::tile_memory
