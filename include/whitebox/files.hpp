#pragma once
// The one way whitebox reads and writes files. Reading refuses what is not a regular file (a
// folder, a FIFO, /dev/zero) and what is larger than the bound for its kind (whitebox/limits.hpp),
// before reading a byte. Writing goes to a temporary beside the destination, renamed over it: a
// reader, a killed run or a full disk never leaves a half-written file, and a symbolic link at
// the destination is replaced, never followed.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace whitebox {

// The whole content of `file`, at most `max_bytes` (limits().file_bytes when 0). Throws FileError
// naming `what` and the path when the file is missing, not a regular file, too large or unreadable.
std::string read_file(const std::filesystem::path& file, const std::string& what,
                      uint64_t max_bytes = 0);

// A digest of a file's content (its size and a 64-bit FNV-1a hash, as text): a resumed run
// knows a replaced image or model by it. Reads the file as read_file does.
std::string file_digest(const std::filesystem::path& file, const std::string& what,
                        uint64_t max_bytes = 0);

// Writes `bytes` to `file` through "<file>.whitebox-<pid>-<n>.tmp" in the same folder, renamed
// over `file`. Throws FileError naming the path when it cannot.
void write_file(const std::filesystem::path& file, std::string_view bytes);

// Removes the temporaries of write_file in `folder` whose process no longer runs (a killed run's):
// only names of that exact form, never another file.
void remove_abandoned_temporaries(const std::filesystem::path& folder);

// `text` with control characters (ANSI escape sequences among them) and bytes that are not UTF-8
// written as \xNN, for a terminal or a log.
std::string printable(std::string_view text);

// Whether `text` is valid UTF-8 (a file name that JSON can hold as it is).
bool is_utf8(std::string_view text);

}  // namespace whitebox
