#pragma once
// The loop of a resumable data-set run, which explain and evaluate share: the output folder locked
// for the run's settings (the library's RunFolder, which Python's evaluate() shares too), the
// items whose records say they are done skipped, the others dealt out over the cluster's ranks,
// and their progress shown.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "progress.hpp"
#include "whitebox/run_folder.hpp"

namespace whitebox::cli {

class ResumableRun {
 public:
  // On rank 0: locks `folder` for `settings` (whitebox::RunFolder) and prepares `records`, the
  // folder in it where each item leaves the record that makes it done (created, cleared of the
  // temporary files of a run that was killed). Throws FileError when a folder cannot be made.
  ResumableRun(const std::filesystem::path& folder, const std::filesystem::path& records,
               const std::string& settings);

  // Runs `work` on each unit (items run together: a batch) of which an item is not `done`, each
  // unit on whichever rank asks first, and shows the progress of their items as `command` with
  // `methods`. Collective: every rank calls it; `done` is asked on rank 0 only. Returns, on rank
  // 0, the number of items that were already done.
  size_t run(const std::vector<std::vector<size_t>>& units, const std::function<bool(size_t)>& done,
             const std::function<void(const std::vector<size_t>&, Progress&)>& work,
             const std::string& command, const std::vector<std::string>& methods);

  // The progress of the last run(), for the lines that follow it.
  Progress& progress() { return *progress_; }

 private:
  std::optional<RunFolder> folder_;
  std::optional<Progress> progress_;
};

}  // namespace whitebox::cli
