// whitebox compare: several methods on several images, measured with the same metrics and shown
// on one self-contained HTML page (whitebox/report.hpp).
#include <iostream>

#include "commands.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/report.hpp"

namespace whitebox::cli {
namespace {

// The default of one of the deletion metric's options, as its registry entry declares it.
std::string curve_default(const std::string& option) {
  for (const auto& p : metrics::find_metric("deletion").parameters) {
    if (p.name == option) return p.fallback;
  }
  throw std::logic_error("deletion declares no option " + option);
}

struct CompareOptions {
  std::vector<std::string> images;
  std::string methods = kReportMethods;
  std::string target = "top1";
  std::string report = "report.html";
  std::string title = ReportOptions{}.title;
  std::string steps = curve_default("steps");
  std::string substitution = curve_default("substitution");
  std::string batch = curve_default("batch");
  double alpha = ReportOptions{}.alpha;
  std::vector<std::string> params;
  std::string metrics;  // registered metrics added as columns
  std::vector<std::string> metric_params;
  std::string concept_layer;
  int64_t concepts = ReportOptions{}.concepts;
  std::string concept_method = ReportOptions{}.concept_method;
  std::string concept_index;
};

void run_compare(const Global& global, const CompareOptions& options) {
  const Model model = load_model(global);
  ReportOptions report;
  report.methods = method_names(options.methods);
  report.target = options.target;
  report.title = options.title;
  report.alpha = options.alpha;
  report.params = parse_params(options.params);
  report.curve_params = Params({{"steps", options.steps},
                                {"substitution", options.substitution},
                                {"batch", options.batch}});
  report.metrics = split_list(options.metrics);
  report.metric_params = parse_params(options.metric_params, "--metric-param");
  report.concept_layer = options.concept_layer;
  report.concepts = options.concepts;
  report.concept_method = options.concept_method;
  report.concept_index = options.concept_index;
  const std::filesystem::path report_file = options.report;
  if (report_file.has_parent_path() && !std::filesystem::is_directory(report_file.parent_path())) {
    throw FileError("no folder " + report_file.parent_path().string() + " for the report");
  }
  const auto images = images_or_default(options.images);
  std::vector<ReportPicture> pictures;
  for (const auto& file : images) {
    if (!std::filesystem::exists(file)) throw FileError("no image " + file.string());
    pictures.push_back({file.filename().string(), read_image(file)});
  }

  Progress progress(pictures.size(), "compare", report.methods);
  const std::string page = comparison_report(
      model, pictures, report, [&](size_t done, size_t total, const std::string& name) {
        if (done > 0) progress.print(images[done - 1].string());
        if (done < total) progress.start(name);
      });
  progress.finish();
  write_file(report_file, page);
  std::cout << report_file.string() << "\n";
}

}  // namespace

Command add_compare(CLI::App& parent) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* app = parent.add_subcommand(
      "compare", "compare methods on images: one self-contained HTML report with maps, metrics and curves");
  app->add_option("images", o->images, "image files (default: the bundled chelsea.png)");
  app->add_option("--method,-m", o->methods, "comma-separated explanation methods")->capture_default_str();
  app->add_option("--report,-r", o->report, "the HTML file to write")->capture_default_str();
  app->add_option("--target,-t", o->target, kTargetHelp)->capture_default_str();
  app->add_option("--curve-steps", o->steps,
                  "points of the deletion and insertion curves (not integrated gradients' steps)")
      ->capture_default_str();
  app->add_option("--substitution", o->substitution, "what replaces removed pixels: blur, mean, zero, uniform")
      ->capture_default_str();
  app->add_option("--batch", o->batch, "perturbed images per forward pass")->capture_default_str();
  app->add_option("--alpha", o->alpha, "overlay opacity of the map")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app->add_option("--title", o->title, "the report's title")->capture_default_str();
  app->add_option("--param,-p", o->params, "method hyper-parameter key=value (repeatable)")->allow_extra_args(false);
  app->add_option("--metric", o->metrics,
                  "more columns: comma-separated metrics of whitebox evaluate (no annotations)");
  app->add_option("--metric-param", o->metric_params, "metric option key=value (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--concept-layer", o->concept_layer,
                  "add each image's concepts: the most relevant channels of this layer and "
                  "their maps (`whitebox inspect` lists the layers)");
  app->add_option("--concepts", o->concepts, "concepts per image with --concept-layer")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  app->add_option("--concept-method", o->concept_method,
                  "the relevance method of the concepts (see `whitebox concepts --help`)")
      ->capture_default_str();
  app->add_option("--concept-index", o->concept_index,
                  "a `whitebox concepts-index` folder of the concept layer: each concept's best "
                  "reference patches beside its map");
  return {app, [o](const Global& global) { run_compare(global, *o); }};
}

}  // namespace whitebox::cli
