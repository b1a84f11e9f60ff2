// whitebox sanity: Adebayo et al.'s randomisation tests for explanation methods, with a figure of
// the maps as the model's layers are re-drawn and the similarities per layer (CSV, JSON).
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/limits.hpp"
#include "whitebox/randomisation.hpp"
#include "whitebox/render.hpp"

namespace whitebox::cli {
namespace {

// The test's own options take the library's defaults (RandomisationOptions), as whitebox.sanity
// in Python does.
struct SanityOptions {
  std::string image;
  std::string methods = metrics::kSanityMethods;
  std::string target = "top1";
  std::string out = "whitebox-sanity";
  std::string mode = to_string(metrics::RandomisationOptions{}.mode);
  int64_t layers = metrics::RandomisationOptions{}.layers;
  int columns = 8;
  uint64_t seed = metrics::RandomisationOptions{}.seed;
  int64_t smooth = metrics::RandomisationOptions{}.smooth_samples;
  std::vector<std::string> params;
};

// JSON has no NaN: an undefined similarity is written as null.
nlohmann::json number(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

nlohmann::json to_json(const metrics::MapSimilarity& s) {
  return {{"spearman_abs", number(s.spearman_abs)},
          {"spearman", number(s.spearman)},
          {"ssim", number(s.ssim)},
          {"hog", number(s.hog)}};
}

// Up to `columns` randomisation steps, evenly spaced, always with the first and the last.
std::vector<size_t> figure_steps(size_t steps, int columns) {
  std::vector<size_t> chosen;
  const size_t count = std::min(steps, static_cast<size_t>(std::max(columns, 1)));
  for (size_t i = 0; i < count; ++i) {
    const size_t step = count == 1 ? steps : 1 + (i * (steps - 1) + (count - 1) / 2) / (count - 1);
    if (chosen.empty() || chosen.back() != step) chosen.push_back(step);
  }
  return chosen;
}

// Rows are methods: the photo, the trained model's map, then the maps after randomisation.
at::Tensor figure(const metrics::RandomisationResult& result, const at::Tensor& photo, int columns,
                  metrics::Randomisation mode) {
  std::vector<size_t> shown{0};
  for (size_t step : figure_steps(result.steps.size() - 1, columns)) shown.push_back(step);
  std::vector<at::Tensor> pictures;
  std::vector<std::string> titles;
  for (const auto& method : result.methods) {
    pictures.push_back(photo);
    titles.push_back(method);
    for (size_t step : shown) {
      const at::Tensor map = result.steps[step].maps.at(method);
      const at::Tensor heat = colorize(normalize_map(map, Normalization::Absolute, 99.0), Colormap::Inferno);
      // The photo and the maps may differ in size (the photo is the network input's).
      pictures.push_back(overlay(photo, heat, 1.0));
      if (step == 0) {
        titles.push_back("trained");
      } else {
        const auto& s = result.steps[step].similarity.at(method);
        const std::string& layer = result.steps[step].layer;
        titles.push_back((mode == metrics::Randomisation::Cascading ? "to " : "") + layer + "  r=" +
                         fixed(s.spearman_abs, 2));
      }
    }
  }
  return grid(pictures, titles, static_cast<int>(shown.size()) + 1);
}

void run_sanity(const Global& global, const SanityOptions& options) {
  const Model model = load_model(global);
  const std::vector<std::string> names = method_names(options.methods);
  metrics::RandomisationOptions randomisation;
  randomisation.mode = metrics::parse_randomisation(options.mode);
  randomisation.layers = options.layers;
  randomisation.seed = options.seed;
  randomisation.smooth_samples = options.smooth;
  randomisation.params = parse_params(options.params);
  check_parameters(names, randomisation.params);
  const Target target = Target::parse(options.target);

  const auto image = images_or_default(options.image.empty() ? std::vector<std::string>{}
                                                             : std::vector<std::string>{options.image})
                         .front();
  check_utf8_name(image, "image file");  // sanity.json names it
  check_utf8_name(model.path(), "model file");
  const Input input = preprocess(read_image(image), model.preprocessing);

  const std::filesystem::path out_dir = options.out;
  const size_t total_layers = metrics::parameter_layers(model).size();
  Progress progress(
      std::min<size_t>(total_layers, options.layers > 0 ? options.layers : total_layers) + 1,
      "randomise", names);
  const auto result = metrics::parameter_randomisation(
      model, input.tensor, names, target, randomisation,
      [&](size_t step, size_t) { progress.start(step == 0 ? "trained" : "layer " + std::to_string(step)); });
  progress.finish();
  const auto logit = metrics::random_logit(model, input.tensor, names, Target::index(result.cls), options.seed,
                                           randomisation.params);

  // The folder only now that everything has been computed: a refused call leaves none behind.
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !std::filesystem::is_directory(out_dir)) {
    throw FileError("cannot create output folder " + printable(out_dir.string()) +
                    (ec ? ": " + ec.message() : ""));
  }
  // Similarities per step and method.
  std::ostringstream csv;
  csv << "step,layer,method,spearman_abs,spearman,ssim,hog\n" << std::setprecision(6);
  nlohmann::json steps = nlohmann::json::array();
  for (size_t k = 0; k < result.steps.size(); ++k) {
    const auto& step = result.steps[k];
    nlohmann::json entry{{"step", k}, {"layer", step.layer}, {"similarity", nlohmann::json::object()}};
    for (const auto& method : result.methods) {
      const auto& s = step.similarity.at(method);
      csv << k << "," << step.layer << "," << method << "," << s.spearman_abs << "," << s.spearman << ","
          << s.ssim << "," << s.hog << "\n";
      entry["similarity"][method] = to_json(s);
    }
    steps.push_back(entry);
  }
  nlohmann::json random_logit{{"class", logit.other}, {"label", label_of(model, logit.other)},
                              {"similarity", nlohmann::json::object()}};
  for (const auto& method : result.methods) random_logit["similarity"][method] = to_json(logit.similarity.at(method));
  nlohmann::json complexity_rise = nlohmann::json::object();
  if (result.steps.size() > 1) {
    for (const auto& method : result.methods)
      complexity_rise[method] = number(metrics::complexity_rise(result, method));
  }
  const nlohmann::json summary{{"image", image.string()},
                               {"model", model.path().string()},
                               {"class", result.cls},
                               {"label", label_of(model, result.cls)},
                               {"methods", result.methods},
                               {"mode", metrics::to_string(randomisation.mode)},
                               {"seed", options.seed},
                               {"params", randomisation.params.values()},
                               {"smooth_samples", options.smooth},
                               {"steps", steps},
                               {"complexity_rise", complexity_rise},
                               {"random_logit", random_logit}};

  write_file(out_dir / "sanity.csv", csv.str());
  write_file(out_dir / "sanity.json", summary.dump(2) + "\n");
  write_image(out_dir / "sanity.png", figure(result, input.image, options.columns, randomisation.mode));

  std::cout << printable(label_of(model, result.cls)) << " (" << result.cls << "), "
            << metrics::to_string(randomisation.mode) << " randomisation of "
            << result.steps.size() - 1 << " layers; random logit: " << label_of(model, logit.other)
            << " (" << logit.other << ")\n";
  std::cout
      << std::left << std::setw(24) << "method" << std::right << std::setw(14) << "|spearman|"
      << std::setw(10) << "ssim" << std::setw(10) << "hog" << std::setw(12) << "entropy x"
      << std::setw(16) << "random logit"
      << "    (similarity to the trained model's map after the last step; its entropy over the "
         "trained map's (eMPRT); random logit: |spearman|)\n";
  for (const auto& method : result.methods) {
    const auto& s = result.steps.back().similarity.at(method);
    std::cout << std::left << std::setw(24) << method << std::right << std::setw(14)
              << fixed(s.spearman_abs, 4) << std::setw(10) << fixed(s.ssim, 4) << std::setw(10)
              << fixed(s.hog, 4) << std::setw(12)
              << (result.steps.size() > 1 ? fixed(metrics::complexity_rise(result, method), 4)
                                          : "-")
              << std::setw(16) << fixed(logit.similarity.at(method).spearman_abs, 4) << "\n";
  }
  for (const char* file : {"sanity.png", "sanity.csv", "sanity.json"}) std::cout << (out_dir / file).string() << "\n";
}

}  // namespace

Command add_sanity(CLI::App& parent) {
  auto o = std::make_shared<SanityOptions>();
  CLI::App* app = parent.add_subcommand(
      "sanity", "randomisation tests (Adebayo et al. 2018): maps as the model's layers are re-drawn at random");
  app->add_option("image", o->image, "image file (default: the bundled chelsea.png)");
  app->add_option("--method,-m", o->methods, "comma-separated explanation methods")->capture_default_str();
  app->add_option("--target,-t", o->target, kTargetHelp)->capture_default_str();
  app->add_option("--out,-o", o->out, "output folder")->capture_default_str();
  app->add_option("--mode", o->mode, "cascading (from the output layer down) or independent (one layer at a time)")
      ->capture_default_str();
  app->add_option("--layers", o->layers, "parameter layers to randomise, from the output (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("--columns", o->columns, "randomisation steps shown in the figure")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  // As doubles, so that "-1" is refused instead of wrapping round to 2^64 - 1.
  app->add_option("--seed", o->seed, "seed of the random weights and the random class")
      ->check(CLI::Range(0.0, kMostSeed))
      ->capture_default_str();
  app->add_option("--smooth", o->smooth,
                  "smooth MPRT: every map the mean over this many noisy copies (0: plain maps)")
      ->check(CLI::Range(0.0, kMostCount))
      ->capture_default_str();
  app->add_option("--param,-p", o->params, "method hyper-parameter key=value (repeatable)")->allow_extra_args(false);
  return {app, [o](const Global& global) { run_sanity(global, *o); }};
}

}  // namespace whitebox::cli
