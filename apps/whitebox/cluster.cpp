#include "cluster.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "whitebox/error.hpp"

#ifdef WHITEBOX_MPI
#include <mpi.h>
#endif

namespace whitebox::cli {
namespace {

#ifdef WHITEBOX_MPI
// Whether an MPI launcher started this process: Open MPI's mpirun, or a PMIx / PMI launcher such
// as Slurm's srun. Started otherwise, the tool runs alone without initialising MPI.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

constexpr int kAsk = 1, kGive = 2;  // message tags: a rank asks rank 0 for an item, and gets one
constexpr int64_t kNone = -1;       // the item sent when none are left
#endif

}  // namespace

Cluster& Cluster::get() {
  static Cluster cluster;
  return cluster;
}

std::string Cluster::build_info() {
#ifdef WHITEBOX_MPI
  return "MPI: compiled in; under mpirun or srun, explain and evaluate split their images over "
         "the ranks";
#else
  return "MPI: not compiled in (install libopenmpi-dev and rebuild to run data sets over ranks)";
#endif
}

Cluster::Cluster() {
#ifdef WHITEBOX_MPI
  if (!launched_by_mpi()) return;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  mpi_ = true;
  if (provided < MPI_THREAD_SERIALIZED) {
    throw Error("the MPI library does not allow calls from a second thread (thread level " +
                std::to_string(provided) + ")");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm host;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &host);
  MPI_Comm_size(host, &local_size_);
  MPI_Comm_free(&host);
#endif
}

Cluster::~Cluster() {
#ifdef WHITEBOX_MPI
  if (mpi_) MPI_Finalize();
#endif
}

void Cluster::fail(int code) {
#ifdef WHITEBOX_MPI
  if (mpi_ && size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  (void)code;
}

void Cluster::distribute(const std::vector<size_t>& items, const std::function<void(size_t)>& work,
                         const std::function<void(size_t)>& finished_elsewhere) {
  if (size_ == 1) {
    for (size_t item : items) work(item);
    return;
  }
#ifdef WHITEBOX_MPI
  if (!root()) {
    for (;;) {
      const int64_t ask = rank_;
      MPI_Send(&ask, 1, MPI_INT64_T, 0, kAsk, MPI_COMM_WORLD);
      int64_t item = kNone;
      MPI_Recv(&item, 1, MPI_INT64_T, 0, kGive, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (item == kNone) return;
      work(static_cast<size_t>(item));
    }
  }
  // What the dealer shares with this thread, kept alive by both (the dealer outlives this call
  // when the work throws).
  struct Deal {
    std::vector<size_t> items;
    std::mutex mutex;
    size_t next = 0;
    bool reporting = true;  // false once this call has thrown: the caller's progress is gone
    int64_t take() {
      std::lock_guard<std::mutex> lock(mutex);
      return next < items.size() ? static_cast<int64_t>(items[next++]) : kNone;
    }
  };
  const auto deal = std::make_shared<Deal>();
  deal->items = items;
  // The dealer answers each rank's request with the next item, until every other rank has been
  // told that none are left. It polls rather than blocks in MPI_Recv, which would spin a core
  // that rank 0's own work needs.
  std::thread dealer([deal, others = size_ - 1, finished_elsewhere] {
    // What each rank is working on: its next request means it has finished it.
    std::vector<int64_t> holding(others + 1, kNone);
    for (int done = 0; done < others;) {
      int waiting = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, kAsk, MPI_COMM_WORLD, &waiting, &status);
      if (!waiting) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      int64_t ask = 0;
      MPI_Recv(&ask, 1, MPI_INT64_T, status.MPI_SOURCE, kAsk, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      const int64_t item = deal->take();
      MPI_Send(&item, 1, MPI_INT64_T, status.MPI_SOURCE, kGive, MPI_COMM_WORLD);
      int64_t& held = holding.at(status.MPI_SOURCE);
      if (held != kNone && finished_elsewhere) {
        std::lock_guard<std::mutex> lock(deal->mutex);
        if (deal->reporting) finished_elsewhere(static_cast<size_t>(held));
      }
      held = item;
      if (item == kNone) ++done;
    }
  });
  try {
    for (int64_t item; (item = deal->take()) != kNone;) work(static_cast<size_t>(item));
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(deal->mutex);
      deal->reporting = false;
    }
    dealer.detach();  // the caller reports the error and ends the job (fail())
    throw;
  }
  dealer.join();
#endif
}

}  // namespace whitebox::cli
