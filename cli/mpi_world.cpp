// The MPI World: only compiled when the build found MPI (RASTERFLOW_WITH_MPI).
#include <mpi.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cli/world.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::cli {
namespace {

constexpr int kFailTag = 7001;

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return std::string(text, static_cast<std::size_t>(len));
}

void check(int code, const std::string& what) {
  if (code != MPI_SUCCESS) throw IoError(what + ": " + mpi_error(code));
}

class MpiWorld final : public World {
 public:
  MpiWorld(int* argc, char*** argv) {
    int provided = 0;
    // The watcher thread is the only one that calls MPI while the run goes on; the main thread
    // calls it before and after: serialized calls.
    MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    me_ = rank_;
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local_);
    MPI_Comm_size(local_, &local_size_);
    MPI_Comm_dup(MPI_COMM_WORLD, &fail_);  // failure notices never mix with the collectives
    char name[MPI_MAX_PROCESSOR_NAME] = {};
    int len = 0;
    MPI_Get_processor_name(name, &len);
    node_ = std::string(name, static_cast<std::size_t>(len));
  }
  ~MpiWorld() override {
    if (watcher_.joinable()) end_watch();
    MPI_Comm_free(&fail_);
    MPI_Comm_free(&local_);
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  std::string node_name() const override { return node_; }

  std::int64_t broadcast(std::int64_t value) override {
    check(MPI_Bcast(&value, 1, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI: broadcasting the plan from rank 0");
    return value;
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI: waiting for every rank"); }

  void start_watch(std::atomic<bool>* cancel) override {
    watching_.store(true);
    MPI_Irecv(&notice_, 1, MPI_INT, MPI_ANY_SOURCE, kFailTag, fail_, &request_);
    watcher_ = std::thread([this, cancel] {
      while (watching_.load()) {
        int done = 0;
        MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
        if (done) {
          received_ = 1;
          cancel->store(true);
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }

  bool end_watch() override {
    watching_.store(false);
    if (watcher_.joinable()) watcher_.join();
    return received_ != 0;
  }

  void notify_failure() override {
    sends_.resize(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      sends_[static_cast<std::size_t>(r)] = MPI_REQUEST_NULL;
      if (r != rank_) MPI_Isend(&me_, 1, MPI_INT, r, kFailTag, fail_, &sends_[static_cast<std::size_t>(r)]);
    }
  }

  int first_failed(bool failed) override {
    int mine = failed ? rank_ : size_;
    int first = size_;
    check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI: agreeing on the first failed rank");
    int mine_count = failed ? 1 : 0;
    int count = 0;
    check(MPI_Allreduce(&mine_count, &count, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD), "MPI: counting the failed ranks");
    // Every notice sent to this rank is received before MPI is finalised: the watcher's
    // receive takes the first, blocking receives the rest.
    const int expected = count - mine_count;
    int got = received_;
    if (request_ != MPI_REQUEST_NULL) {  // the watcher's receive is still posted
      if (expected > 0) {
        MPI_Wait(&request_, MPI_STATUS_IGNORE);
        got = 1;
      } else {
        MPI_Cancel(&request_);
        MPI_Wait(&request_, MPI_STATUS_IGNORE);
      }
    }
    for (int k = got; k < expected; ++k) {
      int who = 0;
      MPI_Recv(&who, 1, MPI_INT, MPI_ANY_SOURCE, kFailTag, fail_, MPI_STATUS_IGNORE);
    }
    if (!sends_.empty()) MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE);
    sends_.clear();
    return first < size_ ? first : -1;
  }

  bool any(bool mine) override {
    int in = mine ? 1 : 0;
    int out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD), "MPI: agreeing on the checkpoints kept");
    return out != 0;
  }

  std::uint64_t concatenate(const std::filesystem::path& local, const std::filesystem::path& shared) override {
    std::error_code ec;
    const auto size = static_cast<long long>(std::filesystem::file_size(local, ec));
    int ok = ec ? 0 : 1;
    long long mine = ec ? 0 : size;
    long long offset = 0;
    long long total = 0;
    check(MPI_Exscan(&mine, &offset, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD),
          "MPI: placing the bands in the output");
    if (rank_ == 0) offset = 0;  // MPI_Exscan leaves rank 0's result undefined
    check(MPI_Allreduce(&mine, &total, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD), "MPI: summing the bands' sizes");
    MPI_File file;
    const int opened =
        MPI_File_open(MPI_COMM_WORLD, shared.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &file);
    std::string error = ec ? "cannot read " + local.string() + ": " + ec.message() : "";
    if (opened != MPI_SUCCESS) {
      ok = 0;
      error = "cannot create " + shared.string() + " with MPI-IO: " + mpi_error(opened);
    } else {
      // Each rank copies its band file at its offset, in large independent writes.
      if (ok) {
        const int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          ok = 0;
          error = "cannot open " + local.string() + ": " + std::strerror(errno);
        } else {
          std::vector<char> buffer(std::size_t{32} << 20);
          long long done = 0;
          while (ok && done < size) {
            const ssize_t n = ::read(fd, buffer.data(), buffer.size());
            if (n <= 0) {
              ok = 0;
              error = "reading " + local.string() + " failed: " + std::strerror(n < 0 ? errno : EIO);
              break;
            }
            MPI_Status status;
            const int w = MPI_File_write_at(file, static_cast<MPI_Offset>(offset + done), buffer.data(),
                                            static_cast<int>(n), MPI_BYTE, &status);
            if (w != MPI_SUCCESS) {
              ok = 0;
              error = "writing " + shared.string() + " with MPI-IO failed: " + mpi_error(w);
            }
            done += n;
          }
          ::close(fd);
        }
      }
      if (MPI_File_close(&file) != MPI_SUCCESS && ok) {
        ok = 0;
        error = "closing " + shared.string() + " failed";
      }
    }
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!ok) throw IoError("rank " + std::to_string(rank_) + ": " + error);
    if (!all) throw IoError("another rank could not write its band into " + shared.string());
    return static_cast<std::uint64_t>(total);
  }

 private:
  int rank_ = 0;
  int me_ = 0;  // the payload of failure notices (must outlive the sends)
  int size_ = 1;
  int local_size_ = 1;
  std::string node_;
  MPI_Comm local_ = MPI_COMM_NULL;
  MPI_Comm fail_ = MPI_COMM_NULL;
  MPI_Request request_ = MPI_REQUEST_NULL;
  int notice_ = 0;
  int received_ = 0;  // written by the watcher, read after it is joined
  std::atomic<bool> watching_{false};
  std::thread watcher_;
  std::vector<MPI_Request> sends_;
};

}  // namespace

std::unique_ptr<World> make_mpi_world(int* argc, char*** argv) { return std::make_unique<MpiWorld>(argc, argv); }
bool built_with_mpi() { return true; }

}  // namespace rasterflow::cli
