#include <doctest/doctest.h>

#include <hwloc.h>

#include <cstring>

#include "rasterflow/hpc/placement.hpp"
#include "rasterflow/hpc/topology.hpp"
#include "rasterflow/node/tile_memory.hpp"

using namespace rasterflow;

namespace {
TopologySummary two_nodes(int pus0, int pus1) {
  TopologySummary t;
  t.packages = 2;
  t.numa_nodes = 2;
  t.cores = pus0 + pus1;
  t.pus = pus0 + pus1;
  t.nodes = {{0, pus0, 1u << 30}, {1, pus1, 1u << 30}};
  t.can_bind_threads = true;
  t.can_bind_memory = true;
  return t;
}
}  // namespace

TEST_CASE("Placement.Synthetic.FourNodesEightThreads") {
  const TopologySummary t = read_topology("pack:2 numa:2 core:4 pu:2");
  REQUIRE(t.nodes.size() == 4);
  CHECK(t.nodes[0].pus == 8);
  CHECK_FALSE(t.this_system);
  const NumaPlacement p = decide_placement("auto", t, 8, {0, 1, 2, 3});
  REQUIRE(p.active);
  REQUIRE(p.domains.size() == 4);
  for (const auto& d : p.domains) {
    CHECK(d.threads == 2);
    CHECK(d.tbb_id == static_cast<int>(d.os_index));
  }
  // A synthetic topology is not this machine: nothing is bound, and the plan says why.
  CHECK_FALSE(p.arenas_pinned);
  CHECK_FALSE(p.memory_bound);
  REQUIRE(p.fallbacks.size() == 2);
  CHECK(p.fallbacks[0].find("not this machine") != std::string::npos);
  CHECK(p.description() ==
        "on, 4 domains (node 0: 2 threads, node 1: 2 threads, node 2: 2 threads, node 3: 2 threads); arenas not "
        "pinned, tile buffers placed by first touch");
}

TEST_CASE("Placement.FewerThreadsThanNodes.OneThreadPerDomain") {
  const TopologySummary t = read_topology("pack:2 numa:2 core:4 pu:2");
  const NumaPlacement p = decide_placement("auto", t, 3, {0, 1, 2, 3});
  REQUIRE(p.domains.size() == 3);
  for (const auto& d : p.domains) CHECK(d.threads == 1);
}

TEST_CASE("Placement.UnevenNodes.ThreadsFollowHardwareThreads") {
  const NumaPlacement p = decide_placement("auto", two_nodes(6, 2), 4, {0, 1});
  REQUIRE(p.domains.size() == 2);
  CHECK(p.domains[0].threads == 3);
  CHECK(p.domains[1].threads == 1);
  CHECK(p.arenas_pinned);
  CHECK(p.memory_bound);
  CHECK(p.fallbacks.empty());
  // Tiles follow the threads, 3:1, interleaved so the ordered sink never waits long on a node.
  int counts[2] = {0, 0};
  for (std::uint64_t seq = 0; seq < 400; ++seq) ++counts[p.domain_of(seq)];
  CHECK(counts[0] == 300);
  CHECK(counts[1] == 100);
  CHECK(p.domain_of(0) == 0);
  CHECK(p.domain_of(1) == 0);
  CHECK(p.domain_of(2) == 1);
  CHECK(p.domain_of(3) == 0);
  const NumaPlacement even = decide_placement("auto", two_nodes(4, 4), 2, {0, 1});
  CHECK(even.domain_of(0) == 0);
  CHECK(even.domain_of(1) == 1);
  CHECK(even.domain_of(2) == 0);
}

TEST_CASE("Placement.Fallbacks.NeverFailARun") {
  // libtbbbind missing: TBB reports one node, -1. The run still gets one arena per node.
  const NumaPlacement no_bind = decide_placement("auto", two_nodes(2, 2), 4, {-1});
  REQUIRE(no_bind.active);
  CHECK(no_bind.domains[0].tbb_id == -1);
  CHECK_FALSE(no_bind.arenas_pinned);
  REQUIRE(no_bind.fallbacks.size() == 1);
  CHECK(no_bind.fallbacks[0].find("libtbbbind") != std::string::npos);
  // Memory binding unsupported by the kernel.
  TopologySummary t = two_nodes(2, 2);
  t.can_bind_memory = false;
  const NumaPlacement no_membind = decide_placement("auto", t, 4, {0, 1});
  CHECK(no_membind.arenas_pinned);
  CHECK_FALSE(no_membind.memory_bound);
  REQUIRE(no_membind.fallbacks.size() == 1);
  CHECK(no_membind.fallbacks[0].find("first touch") != std::string::npos);
  // The plain path: off, one node, one thread; `on` says why it could not place.
  CHECK_FALSE(decide_placement("off", two_nodes(2, 2), 4, {0, 1}).active);
  CHECK(decide_placement("off", two_nodes(2, 2), 4, {0, 1}).description() == "off (engine.numa: off)");
  CHECK_FALSE(decide_placement("auto", two_nodes(2, 2), 1, {0, 1}).active);
  TopologySummary one;
  one.nodes = {{0, 2, 0}};
  const NumaPlacement single = decide_placement("on", one, 2, {0});
  CHECK_FALSE(single.active);
  REQUIRE(single.fallbacks.size() == 1);
  CHECK(single.fallbacks[0].find("one usable NUMA node") != std::string::npos);
  CHECK(decide_placement("auto", one, 2, {0}).fallbacks.empty());
}

TEST_CASE("Placement.Distances.RemoteRatio") {
  TopologySummary t = two_nodes(2, 2);
  CHECK(t.remote_ratio() == 0.0);
  t.distances = {10, 21, 21, 10};
  CHECK(t.remote_ratio() == doctest::Approx(2.1));
}

TEST_CASE("Placement.Here.PlainPathOnOneNode") {
  const TopologySummary here = read_topology();
  CHECK(here.this_system);
  if (here.nodes.size() == 1) CHECK_FALSE(decide_placement("auto", here, 2, tbb_numa_ids()).active);
#ifndef RASTERFLOW_SANITIZED
  // Debian's libtbbbind is installed: TBB knows this machine's NUMA nodes by their OS numbers.
  const auto ids = tbb_numa_ids();
  REQUIRE_FALSE(ids.empty());
  CHECK(ids[0] == static_cast<int>(here.nodes[0].os_index));
#endif
}

TEST_CASE("TileMemory.Pool.ReusesPerDomainAndRespectsTheCap") {
  tile_memory::Layout layout;
  layout.nodes = {0, 1};
  layout.pool_cap = 4u << 20;
  REQUIRE(tile_memory::configure(layout).empty());
  constexpr std::size_t kBytes = 1u << 20;
  void* a = tile_memory::allocate(kBytes);
  std::memset(a, 1, kBytes);
  tile_memory::deallocate(a, kBytes);
  CHECK(tile_memory::pooled_bytes() >= kBytes);
  void* b = tile_memory::allocate(kBytes);  // same domain, same size: the same pages again
  CHECK(b == a);
  CHECK(tile_memory::pooled_bytes() == 0);
  {
    tile_memory::DomainScope scope(1);
    tile_memory::deallocate(b, kBytes);  // freed from domain 1: it still goes back to domain 0
    void* c = tile_memory::allocate(kBytes);
    CHECK(c != b);
    tile_memory::deallocate(c, kBytes);
  }
  // Over the cap: unmapped, not kept.
  std::vector<void*> blocks;
  for (int i = 0; i < 8; ++i) blocks.push_back(tile_memory::allocate(kBytes));
  for (void* p : blocks) tile_memory::deallocate(p, kBytes);
  CHECK(tile_memory::pooled_bytes() <= layout.pool_cap);
  tile_memory::trim();
  CHECK(tile_memory::pooled_bytes() == 0);
  // Small buffers come from malloc and are never pooled.
  void* small = tile_memory::allocate(100);
  tile_memory::deallocate(small, 100);
  CHECK(tile_memory::pooled_bytes() == 0);
  tile_memory::Vector<double> v(1u << 18, 2.0);
  CHECK(v[12345] == 2.0);
}

TEST_CASE("TileMemory.Binding.PagesLandOnTheNode") {
  const TopologySummary here = read_topology();
  if (!here.can_bind_memory) {
    MESSAGE("memory binding unsupported on this machine; skipped");
    return;
  }
  tile_memory::Layout layout;
  layout.nodes = {here.nodes.back().os_index};
  layout.bind = true;
  layout.pool_cap = 8u << 20;
  REQUIRE(tile_memory::configure(layout).empty());
  constexpr std::size_t kBytes = 4u << 20;
  auto* p = static_cast<char*>(tile_memory::allocate(kBytes));
  std::memset(p, 7, kBytes);
  CHECK(tile_memory::refusal().empty());
  hwloc_topology_t topo = nullptr;
  REQUIRE(hwloc_topology_init(&topo) == 0);
  REQUIRE(hwloc_topology_load(topo) == 0);
  hwloc_bitmap_t where = hwloc_bitmap_alloc();
  REQUIRE(hwloc_get_area_memlocation(topo, p, kBytes, where, HWLOC_MEMBIND_BYNODESET) == 0);
  CHECK(hwloc_bitmap_isset(where, layout.nodes[0]));
  CHECK(hwloc_bitmap_weight(where) == 1);
  hwloc_bitmap_free(where);
  hwloc_topology_destroy(topo);
  tile_memory::deallocate(p, kBytes);
  tile_memory::configure({});
}
