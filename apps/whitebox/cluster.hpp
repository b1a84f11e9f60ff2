#pragma once
// The processes of one run: this one alone, or the ranks of an MPI job (mpirun, srun) when the
// CLI is built with MPI and started by an MPI launcher. Data-set commands hand their images out
// through it; everything else runs on every rank as in a single process.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace whitebox::cli {

class Cluster {
 public:
  // The run's cluster, started on first use: MPI is initialised only under an MPI launcher.
  static Cluster& get();
  // Whether this build has MPI, in words for --help.
  static std::string build_info();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  // Ranks of this job on this host, to share its cores (1 without MPI).
  int local_size() const { return local_size_; }

  // Runs `work` on each of `items` (indices the caller defines, read on rank 0 only), each on
  // whichever rank asks first: a rank that finishes early takes more. Collective: every rank
  // calls it, and it returns on each when all items are done. On rank 0 a thread hands the items
  // out; the others ask it for one at a time. On rank 0, `finished_elsewhere` is told (from the
  // dealing thread) of each item another rank has finished, for the job's progress.
  void distribute(const std::vector<size_t>& items, const std::function<void(size_t)>& work,
                  const std::function<void(size_t)>& finished_elsewhere = {});

  // Ends the job after an error on this rank: the other ranks are stopped (MPI_Abort) when
  // there are any. Returns when running alone.
  void fail(int code);

  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

 private:
  Cluster();
  int rank_ = 0, size_ = 1, local_size_ = 1;
  bool mpi_ = false;
};

}  // namespace whitebox::cli
