// What a run of the CLI does to the files around it when its inputs are hostile or change under
// it: a refused call creates nothing, results never follow a planted link, a resumed run knows a
// replaced image or model, two runs of other settings do not share a folder, names that JSON
// cannot hold and escape sequences are refused or shown escaped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "support.hpp"
#include "whitebox/data.hpp"

namespace whitebox::test {
namespace {

#ifdef WHITEBOX_CLI
namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// whitebox --threads 1 --model <the small MobileNet> <args...>
ProcessResult whitebox_run(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--threads", "1", "--model",
                                  bundled("mobilenet_v1_0.25_128.onnx").string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(WHITEBOX_CLI, all);
}

size_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// An argument that only the first image can check (a window larger than the image) used to leave
// the output folder behind with an empty .done/.
TEST(CliBadInputRuns, ARefusedCallCreatesNothing) {
  TempDir dir;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-m", "occlusion", "-p", "window=1000"},
        std::vector<std::string>{"-m", "gradcam", "--layer", "no_such_layer"},
        std::vector<std::string>{"-m", "lrp", "-p", "gamma=-1"}}) {
    std::vector<std::string> call = {"explain", bundled("images/cat.bmp").string(), "--out",
                                     (dir / "out").string()};
    call.insert(call.end(), args.begin(), args.end());
    const ProcessResult r = whitebox_run(call);
    EXPECT_EQ(r.code, 1) << args[1];
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out")) << args[1];
  }
}

// A link planted where a result goes is replaced, and the file it points to is untouched; a
// user's own *.tmp files stay (they used to be deleted, and "x.99999999999999999999.tmp" made
// every run fail with `stol`).
TEST(CliBadInputRuns, ResultsReplaceLinksAndLeaveTheUsersFilesAlone) {
  TempDir dir;
  fs::create_directories(dir / "out");
  std::ofstream(dir / "victim.txt") << "keep";
  fs::create_symlink(dir / "victim.txt", dir / "out" / "cat_saliency.npy");
  for (const char* name : {"x.99999999999999999999.tmp", "notes.tmp"}) {
    std::ofstream(dir / "out" / name) << "mine";
  }
  const ProcessResult r =
      whitebox_run({"explain", bundled("images/cat.bmp").string(), "-m", "saliency", "--formats",
                    "npy,json", "--out", (dir / "out").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_text(dir / "victim.txt"), "keep");
  EXPECT_FALSE(fs::is_symlink(dir / "out" / "cat_saliency.npy"));
  EXPECT_TRUE(fs::is_regular_file(dir / "out" / "cat_saliency.npy"));
  for (const char* name : {"x.99999999999999999999.tmp", "notes.tmp"}) {
    EXPECT_EQ(read_text(dir / "out" / name), "mine") << name;
  }
}

// A resumed run knows a replaced image by its content: it used to report it "already done".
TEST(CliBadInputRuns, AResumedRunRedoesAReplacedImage) {
  TempDir dir;
  fs::create_directories(dir / "images");
  fs::copy_file(bundled("images/cat.bmp"), dir / "images" / "photo.bmp");
  const std::vector<std::string> args = {
      "explain", (dir / "images").string(), "-m", "saliency", "--formats", "json",
      "--out",   (dir / "out").string()};
  ASSERT_EQ(whitebox_run(args).code, 0);
  ProcessResult again = whitebox_run(args);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(has(again.out, "already done")) << again.out;

  // Another picture under the same name.
  const std::string first = read_text(dir / "out" / "photo_saliency.json");
  fs::remove(dir / "images" / "photo.bmp");
  fs::copy_file(bundled("images/cat.bmp"), dir / "images" / "photo.bmp");
  {
    std::fstream edit(dir / "images" / "photo.bmp",
                      std::ios::in | std::ios::out | std::ios::binary);
    edit.seekp(-64, std::ios::end);
    edit << std::string(64, '\x7f');
  }
  again = whitebox_run(args);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_FALSE(has(again.out, "already done")) << again.out;
  EXPECT_NE(read_text(dir / "out" / "photo_saliency.json"), first);

  // evaluate: the same, and its fingerprint holds the --images folder.
  const std::vector<std::string> evaluate = {
      "evaluate",   "--images", (dir / "images").string(),   "-m", "saliency", "--metric",
      "sparseness", "--out",    (dir / "evaluated").string()};
  ASSERT_EQ(whitebox_run(evaluate).code, 0);
  const std::string before = read_text(dir / "evaluated" / "images" / "photo.bmp.json");
  fs::remove(dir / "images" / "photo.bmp");
  fs::copy_file(bundled("images/cat.bmp"), dir / "images" / "photo.bmp");
  ASSERT_EQ(whitebox_run(evaluate).code, 0);
  EXPECT_NE(read_text(dir / "evaluated" / "images" / "photo.bmp.json"), before);
}

// While a run of other settings holds an output folder, a second is refused with one line.
TEST(CliBadInputRuns, ARunOfOtherSettingsIsRefusedWhileOneHoldsTheFolder) {
  TempDir dir;
  fs::create_directories(dir / "out");
  const int held = ::open((dir / "out" / ".whitebox-lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::write(held, "other settings", 14), 14);
  ASSERT_EQ(::flock(held, LOCK_SH), 0);
  const ProcessResult r = whitebox_run({"explain", bundled("images/cat.bmp").string(), "-m",
                                        "saliency", "--out", (dir / "out").string()});
  ::close(held);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_TRUE(has(r.err, "another whitebox run")) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "cat_saliency.png"));
  // Released, the folder takes the new settings.
  EXPECT_EQ(whitebox_run({"explain", bundled("images/cat.bmp").string(), "-m", "saliency", "--out",
                          (dir / "out").string()})
                .code,
            0);
}

// A file name that is not UTF-8 used to fail after the .npy and .png were written, at the JSON:
// it is refused before anything is written. Escape sequences in labels reach no terminal.
TEST(CliBadInputRuns, NamesJsonCannotHoldAndEscapeSequences) {
  TempDir dir;
  fs::create_directories(dir / "images");
  fs::copy_file(bundled("images/cat.bmp"), dir / "images" / "\xff\x1b[2J.bmp");
  ProcessResult r = whitebox_run(
      {"explain", (dir / "images").string(), "-m", "saliency", "--out", (dir / "out").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "UTF-8") && has(r.err, "\\xff\\x1b[2J.bmp")) << r.err;
  EXPECT_FALSE(has(r.err, "\x1b"));
  EXPECT_FALSE(fs::exists(dir / "out"));

  fs::copy_file(bundled("mobilenet_v1_0.25_128.onnx"), dir / "m.onnx");
  std::ofstream(dir / "m.json") << R"({"preprocessing": "mobilenet-tf", "labels": "labels.txt"})";
  {
    std::ofstream labels(dir / "labels.txt");
    for (int i = 0; i < 1001; ++i) labels << "\x1b]0;owned\x07label " << i << "\n";
  }
  r = run_process(WHITEBOX_CLI, {"--model", (dir / "m.onnx").string(), "predict",
                                 bundled("images/cat.bmp").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(has(r.out, "\x1b")) << r.out;
  EXPECT_TRUE(has(r.out, "\\x1b]0;owned\\x07label")) << r.out;
}

// Numbers out of every range: one line that names the option.
TEST(CliBadInputRuns, NumbersOutOfRangeNameTheirOption) {
  ProcessResult r = whitebox_run({"explain", bundled("images/cat.bmp").string(), "-t",
                                  "99999999999999999999", "--out", "/nonexistent/never"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "99999999999999999999")) << r.err;
  r = whitebox_run({"sanity", bundled("images/cat.bmp").string(), "--seed", "-1", "--out",
                    "/nonexistent/never"});
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(has(r.err, "--seed")) << r.err;
  r = whitebox_run({"explain", bundled("images/cat.bmp").string(), "-m", "integrated-gradients",
                    "-p", "steps=1e9", "--out", "/nonexistent/never"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "steps") && has(r.err, "100000")) << r.err;
}
#endif

}  // namespace
}  // namespace whitebox::test
