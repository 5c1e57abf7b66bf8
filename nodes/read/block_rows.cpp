#include "nodes/read/block_rows.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <spdlog/spdlog.h>

#include "nodes/gdal/gdal.hpp"
#include "nodes/read/block_decoder.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

struct BlockRows::Row {
  std::int64_t index = 0;
  std::unique_ptr<std::byte[]> data;  // the row's blocks side by side, each a whole block
  std::atomic<std::int64_t> next{0};  // the next block a thread may claim
  std::int64_t done = 0;              // blocks decoded (under the owner's mutex)
  int pins = 0;                       // under the owner's mutex
  std::exception_ptr error;           // the first decoding error, under the owner's mutex
};

BlockRows::BlockRows(Layout layout, std::function<GDALRasterBandH()> band, std::string where, std::string path)
    : BlockRows(layout, Decoder{}, where, path, 1) {
  owned_ = std::make_shared<GdalBlockDecoder>(std::move(band), layout.block_height, layout.height, where, path);
  decoder_ = [d = owned_.get()](std::int64_t row, std::int64_t column, std::byte* dst) { d->decode(row, column, dst); };
}

BlockRows::BlockRows(Layout layout, BlockDecoder& decoder, std::string where, std::string path, int max_keep_behind)
    : BlockRows(layout, Decoder{[&decoder](std::int64_t row, std::int64_t column, std::byte* dst) {
                  decoder.decode(row, column, dst);
                }},
                std::move(where), std::move(path), max_keep_behind) {
  layout_.block_height = std::max(1, decoder.unit_rows());
  block_bytes_ = static_cast<std::size_t>(layout_.block_width) * static_cast<std::size_t>(layout_.block_height) *
                 static_cast<std::size_t>(pixel_bytes_);
  row_bytes_ = block_bytes_ * static_cast<std::size_t>(blocks_per_row_);
}

BlockRows::BlockRows(Layout layout, Decoder decoder, std::string where, std::string path, int max_keep_behind)
    : layout_(layout),
      decoder_(std::move(decoder)),
      max_keep_behind_(std::max(1, max_keep_behind)),
      where_(std::move(where)),
      path_(std::move(path)) {
  layout_.block_width = std::max(1, layout_.block_width);
  layout_.block_height = std::max(1, layout_.block_height);
  pixel_bytes_ = GDALGetDataTypeSizeBytes(layout_.type);
  blocks_per_row_ = (layout_.width + layout_.block_width - 1) / layout_.block_width;
  block_bytes_ = static_cast<std::size_t>(layout_.block_width) * static_cast<std::size_t>(layout_.block_height) *
                 static_cast<std::size_t>(pixel_bytes_);
  row_bytes_ = block_bytes_ * static_cast<std::size_t>(blocks_per_row_);
}

BlockRows::~BlockRows() {
  if (stats_.rows_decoded == 0) return;  // set up, then replaced before the run
  spdlog::debug("{}: decoded {} block rows ({} in the file), at most {} held at once", path_, stats_.rows_decoded,
                block_rows(), stats_.rows_live_peak);
}

BlockRows::Hold::Hold(Hold&& other) noexcept : owner_(other.owner_), first_(other.first_), last_(other.last_) {
  other.owner_ = nullptr;
}

BlockRows::Hold& BlockRows::Hold::operator=(Hold&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    first_ = other.first_;
    last_ = other.last_;
    other.owner_ = nullptr;
  }
  return *this;
}

BlockRows::Hold::~Hold() { release(); }

void BlockRows::Hold::release() {
  if (owner_ != nullptr && last_ >= first_) owner_->unpin(first_, last_);
  owner_ = nullptr;
}

BlockRows::Hold BlockRows::hold(std::int64_t row0, std::int64_t row1) {
  Hold h;
  row0 = std::max<std::int64_t>(0, row0);
  row1 = std::min(layout_.height, row1);
  if (row1 <= row0) return h;
  h.first_ = row0 / layout_.block_height;
  h.last_ = (row1 - 1) / layout_.block_height;
  pin(h.first_, h.last_);
  h.owner_ = this;  // only once pinned: a failed pin has undone itself
  return h;
}

void BlockRows::drop_passed_rows(std::int64_t keep_first, std::int64_t keep_last) {
  // Tiles come in raster order, but not quite: the flow graph may start a tile before the one
  // above it. An unheld row is done with once it is more than keep_behind_ rows above the
  // highest asked for; keep_behind_ grows to the distance late tiles have been seen at (up to
  // the cap: one row per thread for GDAL's block rows), so such a tile still finds its rows
  // (with one row kept, 3 to 25% of rows were decoded twice). Their buffers then serve the
  // next rows.
  for (auto u = unpinned_.begin(); u != unpinned_.end() && *u < highest_ - keep_behind_;) {
    if (*u >= keep_first && *u <= keep_last) {
      ++u;
      continue;
    }
    const auto it = rows_.find(*u);
    Row& row = *it->second;
    if (spare_.size() < static_cast<std::size_t>(keep_behind_) && !row.error && row.done == blocks_per_row_) {
      spare_.push_back(std::move(row.data));
    }
    undecoded_.erase(*u);
    rows_.erase(it);
    u = unpinned_.erase(u);
  }
}

std::vector<std::shared_ptr<BlockRows::Row>> BlockRows::pin(std::int64_t first, std::int64_t last) {
  std::vector<std::shared_ptr<Row>> pinned;
  {
    std::lock_guard lock(mutex_);
    // Rows passed are dropped first, so that their buffer serves the rows asked for now. A tile
    // starting this far behind the highest row will do so again: keep that many rows.
    if (first < highest_)
      keep_behind_ = static_cast<int>(
          std::min<std::int64_t>(max_keep_behind_, std::max<std::int64_t>(keep_behind_, highest_ - first)));
    highest_ = std::max(highest_, last);
    drop_passed_rows(first, last);
    for (std::int64_t k = first; k <= last; ++k) {
      auto& slot = rows_[k];
      if (!slot) {
        slot = std::make_shared<Row>();
        slot->index = k;
        if (!spare_.empty()) {
          slot->data = std::move(spare_.back());
          spare_.pop_back();
        } else {
          try {
            slot->data.reset(new std::byte[row_bytes_]);
          } catch (const std::bad_alloc&) {
            rows_.erase(k);
            throw_io_error(where_, "reading " + path_ + ": out of memory for a row of decoded blocks (" +
                                       std::to_string(row_bytes_) + " bytes)");
          }
        }
        ++stats_.rows_decoded;
        undecoded_.insert(k);
      }
      if (slot->pins++ == 0) unpinned_.erase(k);
      pinned.push_back(slot);
    }
    stats_.rows_live_peak =
        std::max<std::int64_t>(stats_.rows_live_peak, static_cast<std::int64_t>(rows_.size() + spare_.size()));
  }
  try {
    for (const auto& row : pinned) decode(row);
  } catch (...) {
    unpin(first, last);
    throw;
  }
  return pinned;
}

void BlockRows::unpin(std::int64_t first, std::int64_t last) {
  std::lock_guard lock(mutex_);
  for (std::int64_t k = first; k <= last; ++k) {
    const auto it = rows_.find(k);
    if (it != rows_.end() && --it->second->pins == 0) {
      // A row whose decoding failed is not kept: a later tile tries again (and fails again).
      if (it->second->error) {
        undecoded_.erase(k);
        rows_.erase(it);
      } else {
        unpinned_.insert(k);
      }
    }
  }
  drop_passed_rows(0, -1);
}

void BlockRows::decode(const std::shared_ptr<Row>& row) {
  // Rows above this one still being decoded are finished first (their claimers may be busy
  // elsewhere), so each column's decoder sees its rows in order. Their errors are their
  // pinners' to report.
  std::vector<std::shared_ptr<Row>> above;
  {
    std::lock_guard lock(mutex_);
    above.reserve(undecoded_.size());  // no allocation (nor its failure) once pins are taken
    for (auto u = undecoded_.begin(); u != undecoded_.end() && *u < row->index; ++u) {
      const auto& r = rows_.at(*u);
      if (r->done < blocks_per_row_ && r.get() != row.get()) {
        if (r->pins++ == 0) unpinned_.erase(*u);
        above.push_back(r);
      }
    }
  }
  for (const auto& r : above) {
    try {
      decode_blocks(*r);
    } catch (...) {
    }
    unpin(r->index, r->index);
  }
  decode_blocks(*row);
}

void BlockRows::claim_blocks(Row& row) {
  for (;;) {
    const std::int64_t b = row.next.fetch_add(1);
    if (b >= blocks_per_row_) break;
    std::exception_ptr error;
    try {
      decoder_(row.index, b, row.data.get() + static_cast<std::size_t>(b) * block_bytes_);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    if (error && !row.error) row.error = error;
    if (++row.done == blocks_per_row_) {
      undecoded_.erase(row.index);
      decoded_.notify_all();
    }
  }
}

void BlockRows::decode_blocks(Row& row) {
  // Claim blocks until none is left, with the help of the run's idle threads: a row's blocks
  // are independent, so a row is decoded on every core even when one tile alone asks for it
  // (thin tiles under a tight limit; few tile bands). The helpers only claim and decode; the
  // isolation keeps this thread, while it waits for them, from taking up another tile (which
  // could ask for this very row). Then wait for the blocks other tiles' threads claimed.
  if (row.next.load() < blocks_per_row_ - 1) {
    oneapi::tbb::this_task_arena::isolate([&] {
      oneapi::tbb::task_group helpers;
      const int others =
          std::min<std::int64_t>(oneapi::tbb::this_task_arena::max_concurrency() - 1, blocks_per_row_ - 1);
      for (int i = 0; i < others; ++i) helpers.run([this, &row] { claim_blocks(row); });
      claim_blocks(row);
      helpers.wait();
    });
  } else {
    claim_blocks(row);
  }
  std::unique_lock lock(mutex_);
  decoded_.wait(lock, [&] { return row.done == blocks_per_row_; });
  if (row.error) std::rethrow_exception(row.error);
}

template <typename Copy>
void BlockRows::copy_window(std::int64_t col0, std::int64_t row0, std::int64_t cols, std::int64_t rows, Copy&& copy) {
  if (cols <= 0 || rows <= 0) return;
  const std::int64_t bw = layout_.block_width;
  const std::int64_t bh = layout_.block_height;
  const std::int64_t first = row0 / bh;
  const std::int64_t last = (row0 + rows - 1) / bh;
  const auto pinned = pin(first, last);
  Hold unpin_on_exit;
  unpin_on_exit.owner_ = this;
  unpin_on_exit.first_ = first;
  unpin_on_exit.last_ = last;
  for (std::int64_t r = row0; r < row0 + rows; ++r) {
    const Row& row = *pinned[static_cast<std::size_t>(r / bh - first)];
    const std::int64_t in_block = r - row.index * bh;
    for (std::int64_t c = col0; c < col0 + cols;) {
      const std::int64_t b = c / bw;
      const std::int64_t end = std::min((b + 1) * bw, col0 + cols);
      const std::byte* src =
          row.data.get() + static_cast<std::size_t>(b) * block_bytes_ +
          static_cast<std::size_t>(in_block * bw + (c - b * bw)) * static_cast<std::size_t>(pixel_bytes_);
      copy(src, (r - row0) * cols + (c - col0), end - c);
      c = end;
    }
  }
}

void BlockRows::read(std::int64_t col0, std::int64_t row0, std::int64_t cols, std::int64_t rows, double* out) {
  copy_window(col0, row0, cols, rows, [&](const std::byte* src, std::int64_t at, std::int64_t n) {
    GDALCopyWords64(src, layout_.type, pixel_bytes_, out + at, GDT_Float64, sizeof(double), n);
  });
}

void BlockRows::read_native(std::int64_t col0, std::int64_t row0, std::int64_t cols, std::int64_t rows,
                            std::byte* out) {
  const auto size = static_cast<std::size_t>(pixel_bytes_);
  copy_window(col0, row0, cols, rows, [&](const std::byte* src, std::int64_t at, std::int64_t n) {
    std::memcpy(out + static_cast<std::size_t>(at) * size, src, static_cast<std::size_t>(n) * size);
  });
}

BlockRows::Stats BlockRows::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace rasterflow::nodes
