// The loop of a resumable data-set run.
#include "resumable.hpp"

#include <algorithm>

#include "cluster.hpp"

namespace whitebox::cli {

ResumableRun::ResumableRun(const std::filesystem::path& folder,
                           const std::filesystem::path& records, const std::string& settings) {
  if (!Cluster::get().root()) return;
  folder_.emplace(folder, settings);
  folder_->prepare_records(records);
}

size_t ResumableRun::run(const std::vector<std::vector<size_t>>& units,
                         const std::function<bool(size_t)>& done,
                         const std::function<void(const std::vector<size_t>&, Progress&)>& work,
                         const std::string& command, const std::vector<std::string>& methods) {
  Cluster& cluster = Cluster::get();
  std::vector<size_t> todo;
  size_t items = 0, redone = 0;
  if (cluster.root()) {
    for (size_t u = 0; u < units.size(); ++u) {
      items += units[u].size();
      if (std::all_of(units[u].begin(), units[u].end(), done)) continue;
      todo.push_back(u);
      redone += units[u].size();
    }
  }
  progress_.emplace(redone, command, methods);
  cluster.distribute(
      todo, [&](size_t u) { work(units[u], *progress_); },
      [&](size_t u) { progress_->finished_elsewhere(units[u].size()); });
  progress_->finish();
  return items - redone;
}

}  // namespace whitebox::cli
