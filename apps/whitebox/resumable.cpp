// The loop of a resumable data-set run, and its locked output folder.
#include "resumable.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cluster.hpp"
#include "whitebox/error.hpp"
#include "whitebox/files.hpp"

namespace whitebox::cli {
namespace {

constexpr const char* kLockName = ".whitebox-lock";

// The settings written in a run folder's lock file.
std::string locked_settings(int fd) {
  std::string text;
  char chunk[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t got; (got = ::read(fd, chunk, sizeof chunk)) > 0;) text.append(chunk, got);
  return text;
}

}  // namespace

RunFolder::RunFolder(std::filesystem::path folder, const std::string& settings)
    : folder_(std::move(folder)) {
  std::error_code ec;
  created_ = !std::filesystem::exists(folder_, ec);
  std::filesystem::create_directories(folder_, ec);
  if (ec || !std::filesystem::is_directory(folder_)) {
    throw FileError("cannot create output folder " + printable(folder_.string()) +
                    (ec ? ": " + ec.message() : ""));
  }
  const auto lock_file = folder_ / kLockName;
  lock_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (lock_ < 0) {
    throw FileError("cannot lock output folder " + printable(folder_.string()) + ": " +
                    std::strerror(errno));
  }
  // The first run takes the lock alone and writes its settings; every run then holds it shared
  // and reads the settings back (after the first's switch to shared, which is not atomic, in
  // case another run took the folder in between).
  if (::flock(lock_, LOCK_EX | LOCK_NB) == 0) {
    if (::ftruncate(lock_, 0) != 0 || ::pwrite(lock_, settings.data(), settings.size(), 0) !=
                                          static_cast<ssize_t>(settings.size())) {
      throw FileError("cannot lock output folder " + printable(folder_.string()));
    }
  }
  ::flock(lock_, LOCK_SH);
  if (locked_settings(lock_) != settings) {
    ::close(lock_);
    lock_ = -1;
    throw FileError("another whitebox run with other settings is writing " +
                    printable(folder_.string()) + ": wait for it, or choose another --out");
  }
  remove_abandoned_temporaries(folder_);
}

RunFolder::~RunFolder() {
  if (lock_ >= 0) ::close(lock_);
  if (!created_) return;
  // Nothing but the lock and empty folders: the run wrote no result.
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(folder_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) && it->path().filename() != kLockName) return;
  }
  std::filesystem::remove_all(folder_, ec);
}

ResumableRun::ResumableRun(const std::filesystem::path& folder,
                           const std::filesystem::path& records, const std::string& settings) {
  if (!Cluster::get().root()) return;
  folder_.emplace(folder, settings);
  std::error_code ec;
  std::filesystem::create_directories(records, ec);
  if (ec || !std::filesystem::is_directory(records)) {
    throw FileError("cannot create output folder " + printable(records.string()) +
                    (ec ? ": " + ec.message() : ""));
  }
  // A run killed while writing leaves a temporary file, never a truncated record.
  remove_abandoned_temporaries(records);
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
