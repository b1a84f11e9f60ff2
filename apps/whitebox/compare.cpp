// whitebox compare: several methods on several images, measured with the same metrics and shown
// on one self-contained HTML page.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "report_html.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/render.hpp"

namespace whitebox::cli {
namespace {

struct CompareOptions {
  std::vector<std::string> images;
  std::string methods = "saliency,guided-backprop,integrated-gradients,gradcam";
  std::string target = "top1";
  std::string report = "report.html";
  std::string title = "Explanation methods compared";
  int64_t steps = 50;
  std::string substitution = "blur";
  int64_t batch = 16;
  double alpha = 0.5;
  std::vector<std::string> params;
  std::string metrics;  // registered metrics added as columns
  std::vector<std::string> metric_params;
};

// A report column for one value of a registered metric: what it measures and which way is
// better, as the metric registry says.
ReportMetric registered(const std::string& metric, const std::string& key, std::string title,
                        int digits) {
  const metrics::MetricInfo& info = metrics::find_metric(metric);
  const auto value = std::find_if(info.values.begin(), info.values.end(),
                                  [&](const auto& v) { return v.first == key; });
  if (value == info.values.end()) throw std::logic_error(metric + " reports no " + key);
  return {key, std::move(title), info.summary + " (" + info.citation + ")", value->second, digits};
}

const std::vector<ReportMetric>& report_metrics() {
  static const std::vector<ReportMetric> metrics{
      registered("deletion", "deletion_auc", "Deletion AUC", 3),
      registered("insertion", "insertion_auc", "Insertion AUC", 3),
      registered("sparseness", "sparseness", "Sparseness", 3),
      registered("entropy", "entropy", "Entropy", 2),
      {"seconds", "Time (s)", "wall time of the method on one image", false, 3},
  };
  return metrics;
}

// The registered metrics the user adds to the table, checked: the report has no annotations and
// computes its own columns already.
std::vector<const metrics::MetricInfo*> added_metrics(const CompareOptions& options,
                                                      const Params& params) {
  std::vector<const metrics::MetricInfo*> added;
  std::vector<std::string> names;
  for (const auto& name : split_list(options.metrics)) {
    const metrics::MetricInfo& metric = metrics::find_metric(name);
    if (metric.needs_mask || metric.needs_reference) {
      throw ArgumentError("metric " + name +
                          " needs annotations, which compare does not take: use whitebox evaluate");
    }
    for (const auto& [value, higher] : metric.values) {
      for (const auto& column : report_metrics()) {
        if (column.key == value)
          throw ArgumentError("the report shows " + value + " already (metric " + name + ")");
      }
    }
    added.push_back(&metric);
    names.push_back(metric.name);
  }
  metrics::check_parameters(names, params);
  return added;
}

// Mean of curves that share their fractions.
void accumulate(ReportCurve& total, const metrics::Curve& curve, size_t count) {
  if (total.score.empty()) {
    total.fraction = curve.fraction;
    total.score.assign(curve.score.size(), 0.0);
  }
  for (size_t k = 0; k < total.score.size() && k < curve.score.size(); ++k) total.score[k] += curve.score[k] / count;
  total.auc += curve.auc / count;
}

void run_compare(const Global& global, const CompareOptions& options) {
  const Model model = load_model(global);
  // Check every argument before the (slow) work starts.
  const auto names = method_names(options.methods);
  const Target target = Target::parse(options.target);
  const Params params = parse_params(options.params);
  check_parameters(names, params);
  metrics::PerturbationOptions perturbation;
  perturbation.steps = options.steps;
  perturbation.batch = options.batch;
  perturbation.substitution = metrics::parse_substitution(options.substitution);
  const std::filesystem::path report_file = options.report;
  if (report_file.has_parent_path() && !std::filesystem::is_directory(report_file.parent_path())) {
    throw FileError("no folder " + report_file.parent_path().string() + " for the report");
  }
  const Params metric_params = parse_params(options.metric_params, "--metric-param");
  const auto added = added_metrics(options, metric_params);
  const auto images = images_or_default(options.images);
  for (const auto& image : images) {
    if (!std::filesystem::exists(image)) throw FileError("no image " + image.string());
  }

  Report report;
  report.title = options.title;
  report.model = model.path().filename().string();
  report.metrics = report_metrics();
  for (const auto* metric : added) {
    for (const auto& [value, higher] : metric->values)
      report.metrics.insert(report.metrics.end() - 1, registered(metric->name, value, value, 3));
  }
  // Per method, every image as the metrics over the data set see it, combined at the end.
  std::vector<std::vector<metrics::Sample>> samples(names.size());
  report.settings = {{"target", options.target},
                     {"curve steps", std::to_string(options.steps)},
                     {"substitution", options.substitution},
                     {"device", c10::str(model.device())}};
  for (const auto& name : names) {
    ReportMethod method;
    method.info = std::make_shared<const MethodInfo>(facts(find_method(name), params));
    for (const auto& h : method.info->hyperparameters) {
      method.hyperparameters.push_back({h.name, params.text(h.name, h.fallback), h.fallback, h.meaning});
    }
    report.methods.push_back(std::move(method));
  }

  Progress progress(images.size(), "compare");
  for (const auto& file : images) {
    progress.start(file.filename().string());
    const Input input = preprocess(read_image(file), model.preprocessing);
    const at::Tensor x = input.tensor.to(model.device());
    const at::Tensor logits = model.logits(x).to(at::kCPU, at::kDouble);
    const int64_t cls = target.resolve(model, logits)[0];
    ReportImage entry{file.filename().string(), label_of(model, cls), cls,
                      at::softmax(logits, 1)[0][cls].item<double>(), png_data_uri(input.image), {}};

    // The first gradient sweep pays one-time costs (thread pool, allocations): not a method's time.
    if (report.images.empty()) explain(model, x, {"saliency"}, Target::index(cls));
    for (size_t m = 0; m < report.methods.size(); ++m) {
      ReportMethod& method = report.methods[m];
      const auto start = std::chrono::steady_clock::now();
      const Explanation e = explain(model, x, {method.info->name}, Target::index(cls),
                                    parameters_for(*method.info, params))
                                .at(method.info->name);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const at::Tensor map = e.map[0].detach();

      const at::Tensor heat = e.is_signed
                                  ? colorize(normalize_map(map, Normalization::Signed, 99.0), Colormap::RedBlue)
                                  : colorize(normalize_map(map, Normalization::Positive, 99.0), Colormap::Jet);
      entry.overlays.push_back(png_data_uri(overlay(input.image, heat, options.alpha)));

      const auto deletion = metrics::deletion(model, x[0], map, cls, perturbation);
      const auto insertion = metrics::insertion(model, x[0], map, cls, perturbation);
      accumulate(method.deletion, deletion, images.size());
      accumulate(method.insertion, insertion, images.size());
      method.values["deletion_auc"].push_back(deletion.auc);
      method.values["insertion_auc"].push_back(insertion.auc);
      method.values["sparseness"].push_back(metrics::sparseness(map));
      method.values["entropy"].push_back(metrics::entropy(map));
      method.values["seconds"].push_back(seconds);

      metrics::Sample sample;
      sample.model = &model;
      sample.image = x[0];
      sample.map = map.to(at::kDouble);
      sample.cls = cls;
      sample.method = method.info->name;
      sample.method_params = parameters_for(*method.info, params);
      for (const auto* metric : added) {
        if (metric->over_dataset()) continue;
        for (const auto& [value, number] : metric->run(sample, metric_params))
          method.values[value].push_back(number);
      }
      samples[m].push_back(std::move(sample));
    }
    progress.print(file.string() + "  " + entry.label + " (" + std::to_string(cls) + ")");
    report.images.push_back(std::move(entry));
  }
  progress.finish();
  for (const auto* metric : added) {
    if (!metric->over_dataset()) continue;
    for (size_t m = 0; m < report.methods.size(); ++m) {
      const metrics::DatasetValues combined =
          metrics::evaluate_dataset(*metric, samples[m], metric_params);
      auto& values = report.methods[m].values;
      for (const auto& image : combined.per_image) {
        for (const auto& [value, number] : image) values[value].push_back(number);
      }
      for (const auto& [value, number] : combined.overall) values[value].push_back(number);
    }
  }

  write_atomically(report_file, render_report(report));
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
  app->add_option("--target,-t", o->target, "class to explain: top1, top3, a class index or a label")
      ->capture_default_str();
  app->add_option("--steps", o->steps, "points of the deletion and insertion curves")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))
      ->capture_default_str();
  app->add_option("--substitution", o->substitution, "what replaces removed pixels: blur, mean, zero, uniform")
      ->capture_default_str();
  app->add_option("--batch", o->batch, "perturbed images per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  app->add_option("--alpha", o->alpha, "overlay opacity of the map")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app->add_option("--title", o->title, "the report's title")->capture_default_str();
  app->add_option("--param,-p", o->params, "method hyper-parameter key=value (repeatable)")->allow_extra_args(false);
  app->add_option("--metric", o->metrics,
                  "more columns: comma-separated metrics of whitebox evaluate (no annotations)");
  app->add_option("--metric-param", o->metric_params, "metric option key=value (repeatable)")
      ->allow_extra_args(false);
  return {app, [o](const Global& global) { run_compare(global, *o); }};
}

}  // namespace whitebox::cli
