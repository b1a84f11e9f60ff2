// whitebox predict: the top classes of each image.
#include <ATen/ATen.h>

#include <iomanip>
#include <sstream>

#include "commands.hpp"
#include "whitebox/image.hpp"

namespace whitebox::cli {
namespace {

struct PredictOptions {
  std::vector<std::string> images;
  int top = 5;
};

void run_predict(const Global& global, const PredictOptions& options) {
  const Model model = load_model(global);
  const auto images = images_or_default(options.images);
  Progress progress(images.size(), "predict");
  bool first = true;
  for (const auto& file : images) {
    progress.start(file.filename().string());
    const Input input = preprocess(read_image(file), model.preprocessing);
    const at::Tensor logits = model.logits(input.tensor).to(at::kCPU, at::kDouble).reshape(-1);
    const at::Tensor probs = at::softmax(logits, 0);
    const auto k = std::min<int64_t>(options.top, logits.numel());
    const at::Tensor best = std::get<1>(at::topk(logits, k));

    size_t label_width = 5;
    for (int64_t r = 0; r < k; ++r) {
      label_width = std::max(label_width, label_of(model, best[r].item<int64_t>()).size());
    }
    std::ostringstream out;
    out << (first ? "" : "\n") << file.string() << "\n";
    out << std::right << std::setw(6) << "rank" << std::setw(7) << "index" << "  " << std::left
        << std::setw(static_cast<int>(label_width)) << "label" << std::right << std::setw(10) << "prob"
        << std::setw(10) << "logit";
    for (int64_t r = 0; r < k; ++r) {
      const int64_t index = best[r].item<int64_t>();
      out << "\n"
          << std::right << std::setw(6) << r + 1 << std::setw(7) << index << "  " << std::left
          << std::setw(static_cast<int>(label_width)) << label_of(model, index) << std::right << std::fixed
          << std::setprecision(4) << std::setw(10) << probs[index].item<double>() << std::setprecision(3)
          << std::setw(10) << logits[index].item<double>();
    }
    progress.print(out.str());
    first = false;
  }
}

}  // namespace

Command add_predict(CLI::App& parent) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* app = parent.add_subcommand("predict", "print the top classes of images");
  app->add_option("images", options->images, "image files (default: the bundled chelsea.png)");
  app->add_option("--top,-k", options->top, "number of classes to show")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  return {app, [options](const Global& global) { run_predict(global, *options); }};
}

}  // namespace whitebox::cli
