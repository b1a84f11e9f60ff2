// whitebox patterns fit: learns the signal patterns of PatternNet / PatternAttribution from a
// folder of images and stores them beside the model (docs/patterns.md).
#include "whitebox/patterns.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"

namespace whitebox::cli {
namespace {

struct FitOptions {
  std::vector<std::string> args;  // [MODEL] IMAGES_DIR
  std::string estimator = to_string(PatternOptions{}.estimator);
  int64_t limit = PatternOptions{}.limit;
  int64_t batch = PatternOptions{}.batch;
  std::string out;
};

void run_fit(const Global& global, const FitOptions& o) {
  PatternOptions options;
  options.estimator = parse_estimator(o.estimator);
  options.limit = o.limit;
  options.batch = o.batch;
  const Model model = load_model(global, o.args.size() == 2 ? o.args[0] : "");
  std::vector<std::filesystem::path> files = image_files(o.args.back());
  if (o.limit > 0 && static_cast<int64_t>(files.size()) > o.limit) files.resize(o.limit);
  const std::filesystem::path out =
      o.out.empty() ? default_patterns_path(model) : std::filesystem::path(o.out);

  const auto start = std::chrono::steady_clock::now();
  PatternFitter fitter(model, options);
  Progress progress(files.size(), "fit");
  const size_t batch = static_cast<size_t>(o.batch);
  for (size_t first = 0; first < files.size(); first += batch) {
    std::vector<at::Tensor> rows;
    for (size_t i = first; i < std::min(files.size(), first + batch); ++i) {
      progress.start(files[i].filename().string());
      rows.push_back(preprocess(read_image(files[i]), model.preprocessing).tensor);
    }
    fitter.add(at::cat(rows));
  }
  const Patterns patterns = fitter.patterns();
  patterns.save(out);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::ostringstream line;
  line << "fitted " << to_string(patterns.estimator) << " patterns of " << patterns.by_node.size()
       << " layers on " << patterns.images << " images in " << std::fixed << std::setprecision(1)
       << seconds << " s: " << out.string();
  progress.print(line.str());
}

}  // namespace

Command add_patterns(CLI::App& parent) {
  auto options = std::make_shared<FitOptions>();
  CLI::App* app = parent.add_subcommand(
      "patterns", "signal patterns for patternnet and patternattribution (docs/patterns.md)");
  app->require_subcommand(1);
  CLI::App* fit = app->add_subcommand(
      "fit", "learn a model's patterns from a folder of images and store them in MODEL.patterns");
  fit->add_option("args", options->args, "[MODEL] IMAGES_DIR (MODEL: --model or the bundled one)")
      ->required()
      ->expected(1, 2);
  fit->add_option("--estimator", options->estimator, "linear or twocomponent")
      ->capture_default_str();
  fit->add_option("--limit", options->limit, "use only the first N images by name (0: all)")
      ->check(CLI::NonNegativeNumber);
  fit->add_option("--batch", options->batch, "images per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  fit->add_option("--out", options->out, "the patterns folder (default: MODEL.patterns)");
  return {app, [options, fit](const Global& global) {
            if (fit->parsed()) run_fit(global, *options);
          }};
}

}  // namespace whitebox::cli
