// Progress of the long commands on stderr: a line per finished image in a log, a line updated in
// place on a terminal, nothing with --quiet.
#include <gtest/gtest.h>

#include <regex>

#include "support.hpp"
#include "whitebox/data.hpp"

namespace whitebox::test {
namespace {

#ifdef WHITEBOX_CLI
std::vector<std::string> explain_two(const TempDir& dir) {
  return {"--threads", "1", "--model", bundled("mobilenet_v1_0.25_128.onnx").string(), "explain",
          bundled("images/cat.bmp").string(), bundled("images/parrot.jpg").string(), "-m",
          "saliency", "--formats", "json", "--out", (dir / "out").string()};
}

TEST(CliProgress, ALogGetsOneLinePerImageAndQuietNone) {
  TempDir dir;
  const ProcessResult r = run_process(WHITEBOX_CLI, explain_two(dir));
  ASSERT_EQ(r.code, 0) << r.err;
  // stderr is a pipe here, as in a batch job's log: plain lines, no escape sequences.
  const std::regex line(R"(explain 1/2  saliency  [0-9.]+ s each  [0-9]+:[0-9]{2} left  cat\.bmp\n)"
                        R"(explain 2/2  saliency  [0-9.]+ s each  parrot\.jpg\n)");
  EXPECT_TRUE(std::regex_match(r.err, line)) << r.err;

  std::vector<std::string> quiet = explain_two(dir);
  quiet.insert(quiet.begin(), "--quiet");
  quiet.back() = (dir / "quiet").string();
  const ProcessResult q = run_process(WHITEBOX_CLI, quiet);
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(q.err, "");
}

// On a terminal (a pseudo-terminal made by script(1)) the line is redrawn in place.
TEST(CliProgress, ATerminalGetsALineRedrawnInPlace) {
  if (std::system("command -v script > /dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  TempDir dir;
  std::string command;
  for (const auto& arg : explain_two(dir)) command += "'" + arg + "' ";
  const ProcessResult r = run_process(
      "/usr/bin/script", {"-qec", std::string(WHITEBOX_CLI) + " " + command, "/dev/null"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\r\033[Kexplain [###############...............] 1/2  saliency"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("explain 1/2  "), std::string::npos) << r.out;  // no log lines
}
#endif

}  // namespace
}  // namespace whitebox::test
