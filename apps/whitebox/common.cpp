// What the commands share besides the model: parsing lists of names and KEY=VALUE pairs,
// numbers for display, and the output folder of a run.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "commands.hpp"
#include "whitebox/error.hpp"

namespace whitebox::cli {
namespace {

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

}  // namespace

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    item = trim(item);
    if (!item.empty() && std::find(items.begin(), items.end(), item) == items.end()) {
      items.push_back(item);
    }
  }
  return items;
}

std::vector<std::string> method_names(const std::string& list) {
  std::vector<std::string> names;
  for (const auto& item : split_list(list)) {
    const std::string& name = find_method(item).name;  // throws LookupError listing valid names
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  if (names.empty()) throw ArgumentError("--method needs at least one method name");
  return names;
}

Params parse_params(const std::vector<std::string>& pairs, const std::string& option) {
  Params params;
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ArgumentError(option + " takes key=value, not '" + pair + "'");
    }
    params.set(trim(pair.substr(0, eq)), trim(pair.substr(eq + 1)));
  }
  return params;
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

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

void check_utf8_name(const std::filesystem::path& file, const std::string& what) {
  if (!is_utf8(file.string())) {
    throw InputError(what + " name is not UTF-8, which a JSON result cannot hold: " +
                     printable(file.string()) + " (rename it)");
  }
}

}  // namespace whitebox::cli
