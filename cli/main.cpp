#include <malloc.h>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  // Tile buffers of a few MB are allocated and freed for every tile: served from the heap
  // instead of fresh mmap()s, they do not page-fault every time. Memory pressure still hands
  // freed heap back (malloc_trim at critical).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  return rasterflow::cli::main(argc, argv);
}
