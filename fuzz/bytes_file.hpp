#pragma once
// The readers under test take paths: each input goes to one file in memory-backed /dev/shm,
// rewritten per run, named by process so that libFuzzer's -jobs do not share it.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace whitebox::fuzz {

inline std::filesystem::path bytes_file(const uint8_t* data, size_t size,
                                        const std::string& extension) {
  static const std::filesystem::path path =
      std::filesystem::path("/dev/shm") / ("whitebox_fuzz_" + std::to_string(getpid()) + extension);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace whitebox::fuzz
