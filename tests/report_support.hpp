#pragma once
// Helpers for the tests of `whitebox compare` and `whitebox sanity`: running a program as a child
// process with its output captured, and finding a headless browser.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace whitebox::test {

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

struct ProcessResult {
  int code = -1;
  std::string out, err;
};

// Runs `program args...` with stdout and stderr captured.
inline ProcessResult run_process(const std::string& program, const std::vector<std::string>& args) {
  TempDir capture;
  std::string command = shell_quote(program);
  for (const auto& arg : args) command += " " + shell_quote(arg);
  command += " >" + shell_quote((capture / "out").string()) + " 2>" + shell_quote((capture / "err").string());
  const int status = std::system(command.c_str());
  ProcessResult result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(capture / "out");
  result.err = read_text(capture / "err");
  return result;
}

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
