// How Cluster::distribute scales with the number of ranks, simulated: each item's work is a
// sleep, so that 64 ranks fit on two cores and only the dealing is measured. Prints, on rank 0,
// the makespan against the ideal (items / ranks, rounded up, times the work).
//   mpirun --oversubscribe -np 64 build/bench/dealer_bench ITEMS WORK_MS
#include <mpi.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <thread>
#include <vector>

#include "cluster.hpp"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  auto& cluster = whitebox::cli::Cluster::get();
  if (argc != 3 || cluster.size() < 2) {
    if (cluster.root())
      std::fprintf(stderr, "usage: mpirun -np N (N >= 2) dealer_bench ITEMS WORK_MS\n");
    return 2;
  }
  const size_t items = std::strtoul(argv[1], nullptr, 10);
  const double work_ms = std::atof(argv[2]);
  std::vector<size_t> all(cluster.root() ? items : 0);
  std::iota(all.begin(), all.end(), size_t{0});
  long mine = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = Clock::now();
  cluster.distribute(all, [&](size_t) {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(work_ms));
    ++mine;
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  long least = 0, most = 0;
  MPI_Reduce(&mine, &least, 1, MPI_LONG, MPI_MIN, 0, MPI_COMM_WORLD);
  MPI_Reduce(&mine, &most, 1, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
  if (cluster.root()) {
    const double ideal = std::ceil(static_cast<double>(items) / cluster.size()) * work_ms / 1000;
    std::printf("| %d | %zu | %.0f | %.3f | %.3f | %.3f | %ld-%ld |\n", cluster.size(), items,
                work_ms, ideal, seconds, ideal / seconds, least, most);
  }
  return 0;
}
