// The locked output folder of a resumable data-set run.
#include "whitebox/run_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "whitebox/error.hpp"
#include "whitebox/files.hpp"

namespace whitebox {
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

// Creates `folder` (and its parents) or throws FileError.
void make_folder(const std::filesystem::path& folder) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec || !std::filesystem::is_directory(folder)) {
    throw FileError("cannot create output folder " + printable(folder.string()) +
                    (ec ? ": " + ec.message() : ""));
  }
}

}  // namespace

RunFolder::RunFolder(std::filesystem::path folder, const std::string& settings,
                     const std::string& argument)
    : folder_(std::move(folder)) {
  std::error_code ec;
  created_ = !std::filesystem::exists(folder_, ec);
  make_folder(folder_);
  const auto lock_file = folder_ / kLockName;
  lock_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (lock_ < 0) {
    throw FileError("cannot lock output folder " + printable(folder_.string()) + ": " +
                    std::strerror(errno));
  }
  // The first run takes the lock alone and writes its settings; every run then holds it shared
  // and reads the settings back (after the first's switch to shared, which is not atomic, in
  // case another run took the folder in between). The lock belongs to the open file, so that
  // two runs in one process exclude each other as two processes do.
  if (::flock(lock_, LOCK_EX | LOCK_NB) == 0) {
    if (::ftruncate(lock_, 0) != 0 || ::pwrite(lock_, settings.data(), settings.size(), 0) !=
                                          static_cast<ssize_t>(settings.size())) {
      ::close(lock_);
      lock_ = -1;
      throw FileError("cannot lock output folder " + printable(folder_.string()));
    }
  }
  ::flock(lock_, LOCK_SH);
  if (locked_settings(lock_) != settings) {
    ::close(lock_);
    lock_ = -1;
    throw FileError("another whitebox run with other settings is writing " +
                    printable(folder_.string()) + ": wait for it, or choose another " + argument);
  }
  remove_abandoned_temporaries(folder_);
}

RunFolder::~RunFolder() { release(); }

void RunFolder::prepare_records(const std::filesystem::path& records) const {
  make_folder(records);
  // A run killed while writing leaves a temporary file, never a truncated record.
  remove_abandoned_temporaries(records);
}

void RunFolder::release() {
  if (lock_ < 0) return;
  ::close(lock_);
  lock_ = -1;
  if (!created_) return;
  // Nothing but the lock and empty folders: the run wrote no result.
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(folder_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) && it->path().filename() != kLockName) return;
  }
  std::filesystem::remove_all(folder_, ec);
}

}  // namespace whitebox
