// Reading and writing files: regular files only, bounded in size; writes through a renamed
// temporary.
#include "whitebox/files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "whitebox/error.hpp"
#include "whitebox/limits.hpp"

namespace whitebox {
namespace {

std::string reason() { return std::strerror(errno); }

// Closes a descriptor when it goes out of scope.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

constexpr std::string_view kTemporaryMark = ".whitebox-";

}  // namespace

std::string read_file(const std::filesystem::path& file, const std::string& what,
                      uint64_t max_bytes) {
  if (max_bytes == 0) max_bytes = limits().file_bytes;
  const std::string named = what + " " + printable(file.string());
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  Descriptor in{::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (in.fd < 0) {
    if (errno == ENOENT) throw FileError(named + " not found");
    throw FileError("cannot read " + named + ": " + reason());
  }
  struct stat status {};
  if (::fstat(in.fd, &status) != 0) throw FileError("cannot read " + named + ": " + reason());
  if (S_ISDIR(status.st_mode)) throw FileError(named + " is a folder, not a file");
  if (!S_ISREG(status.st_mode)) {
    throw FileError(named + " is not a regular file (a device, FIFO or socket)");
  }
  const auto size = static_cast<uint64_t>(status.st_size);
  if (size > max_bytes) {
    throw FileError(named + " has " + std::to_string(size) + " bytes, more than the " +
                    std::to_string(max_bytes) + " whitebox reads (whitebox/limits.hpp)");
  }
  std::string bytes(size, '\0');
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(in.fd, bytes.data() + done, size - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw FileError("cannot read " + named + ": " + reason());
    if (got == 0) break;  // shrunk while read
    done += static_cast<size_t>(got);
  }
  bytes.resize(done);
  return bytes;
}

std::string file_digest(const std::filesystem::path& file, const std::string& what,
                        uint64_t max_bytes) {
  const std::string bytes = read_file(file, what, max_bytes);
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return std::to_string(bytes.size()) + ":" + text;
}

void write_file(const std::filesystem::path& file, std::string_view bytes) {
  static std::atomic<uint64_t> serial{0};
  std::filesystem::path temporary = file;
  temporary += std::string(kTemporaryMark) + std::to_string(::getpid()) + "-" +
               std::to_string(serial++) + ".tmp";
  const std::string named = printable(file.string());
  {
    // O_EXCL | O_NOFOLLOW: a file or link planted under the temporary's name is never written
    // through.
    Descriptor out{
        ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)};
    if (out.fd < 0) throw FileError("cannot write " + named + ": " + reason());
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t put = ::write(out.fd, bytes.data() + done, bytes.size() - done);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) {
        const std::string why = reason();
        ::unlink(temporary.c_str());
        throw FileError("cannot write " + named + ": " + why);
      }
      done += static_cast<size_t>(put);
    }
    const int closed = ::close(out.fd);
    out.fd = -1;
    if (closed != 0) {
      const std::string why = reason();
      ::unlink(temporary.c_str());
      throw FileError("cannot write " + named + ": " + why);
    }
  }
  // rename() replaces a link at the destination by the file; it never writes through it.
  if (::rename(temporary.c_str(), file.c_str()) != 0) {
    const std::string why = reason();
    ::unlink(temporary.c_str());
    throw FileError("cannot write " + named + ": " + why);
  }
}

void remove_abandoned_temporaries(const std::filesystem::path& folder) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    // "<file>.whitebox-<pid>-<serial>.tmp", nothing else.
    const std::string name = entry.path().filename().string();
    const size_t mark = name.rfind(kTemporaryMark);
    if (mark == std::string::npos || name.size() < 4 || name.compare(name.size() - 4, 4, ".tmp")) {
      continue;
    }
    const std::string tail =
        name.substr(mark + kTemporaryMark.size(), name.size() - 4 - mark - kTemporaryMark.size());
    const size_t dash = tail.find('-');
    if (dash == 0 || dash == std::string::npos || dash > 9 || dash + 1 == tail.size() ||
        tail.find_first_not_of("0123456789-") != std::string::npos ||
        tail.find('-', dash + 1) != std::string::npos) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::stoll(tail.substr(0, dash)));
    if (pid == ::getpid() || (::kill(pid, 0) == 0 || errno == EPERM)) continue;  // still running
    std::filesystem::remove(entry.path(), ec);
  }
}

bool is_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t length = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xe  ? 3
                          : (c >> 3) == 0x1e ? 4
                                             : 0;
    if (length == 0 || i + length > text.size()) return false;
    uint32_t code = length == 1 ? c : c & (0x7f >> length);
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next >> 6) != 0x2) return false;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
      return false;
    }
    i += length;
  }
  return true;
}

std::string printable(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string shown;
  shown.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t length = 1;  // of the UTF-8 character at i; a stray byte counts as one
    for (size_t n = 2; c >= 0x80 && n <= 4 && i + n <= text.size(); ++n) {
      if (is_utf8(text.substr(i, n))) {
        length = n;
        break;
      }
    }
    // C0 controls, DEL, C1 controls (U+0080..U+009F, CSI among them) and stray bytes.
    const bool escaped = length == 1 ? c < 0x20 || c >= 0x7f
                                     : c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
    for (size_t k = 0; k < length; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if (!escaped) {
        shown += static_cast<char>(byte);
        continue;
      }
      shown += "\\x";
      shown += hex[byte >> 4];
      shown += hex[byte & 0xf];
    }
    i += length;
  }
  return shown;
}

}  // namespace whitebox
