#pragma once
// Where tile buffers come from. Large buffers (a tile's column, its kept cells) are mapped pages
// kept in one pool per NUMA domain: a buffer freed by a finished tile is handed to the next tile
// of the same domain instead of faulting in fresh pages, and under NUMA placement its pages are
// bound to the domain's node (hwloc), so the threads that fill and read it touch local memory.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rasterflow::tile_memory {

// For one run: the NUMA nodes (OS numbers) of the domains, in domain order (one entry, any value,
// without placement); whether to bind pages to them; the most bytes the pools keep unused.
struct Layout {
  std::vector<unsigned> nodes{0};
  bool bind = false;
  std::uint64_t pool_cap = 0;
};
// Returns an empty string, or the one-line reason binding was refused (then buffers are placed by
// first touch). Buffers of an earlier layout stay valid and are unmapped when freed.
std::string configure(const Layout& layout);
// Unmaps every pooled buffer (memory pressure, end of a run).
void trim();
std::uint64_t pooled_bytes();
// Empty, or why the kernel refused a binding during the run (binding then stopped).
std::string refusal();

// The calling thread works for `domain` while the scope lives (the pipeline sets it in each
// domain's node bodies).
class DomainScope {
 public:
  explicit DomainScope(int domain) noexcept;
  ~DomainScope();
  DomainScope(const DomainScope&) = delete;
  DomainScope& operator=(const DomainScope&) = delete;

 private:
  int previous_;
};

void* allocate(std::size_t bytes);
void deallocate(void* p, std::size_t bytes) noexcept;

// A std::allocator for tile buffers (std::vector<double, Allocator<double>>).
template <class T>
struct Allocator {
  using value_type = T;
  Allocator() noexcept = default;
  template <class U>
  Allocator(const Allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(tile_memory::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { tile_memory::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const Allocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using Vector = std::vector<T, Allocator<T>>;

}  // namespace rasterflow::tile_memory
