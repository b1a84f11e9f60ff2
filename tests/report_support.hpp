#pragma once
// Helpers for the tests of `whitebox compare` and `whitebox sanity`: the CLI binary and a
// headless browser.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace whitebox::test {

// The whitebox binary, or "" when the CLI is not built.
inline std::string cli_binary() {
#ifdef WHITEBOX_CLI
  return WHITEBOX_CLI;
#else
  return "";
#endif
}

// Debian's chromium (or another Chromium-family browser on PATH), or "" when none is installed.
inline std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    const std::string probe = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return name;
  }
  return "";
}

// The synthetic shapes data set and its classifier (tests/shapes/).
inline std::filesystem::path shapes_dir() { return std::filesystem::path(WHITEBOX_SOURCE_DIR) / "tests" / "shapes"; }

}  // namespace whitebox::test
