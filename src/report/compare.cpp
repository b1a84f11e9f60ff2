// The comparison report's numbers: every method on every image, with the deletion and insertion
// curves of the metric registry (its options and defaults), sparseness, entropy, time, and the
// added registered metrics.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "report/report.hpp"
#include "whitebox/concepts.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/render.hpp"
#include "whitebox/report.hpp"

namespace whitebox {
namespace {

using report::Report;
using report::ReportCurve;
using report::ReportImage;
using report::ReportMethod;
using report::ReportMetric;

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
std::vector<const metrics::MetricInfo*> added_metrics(const ReportOptions& options) {
  std::vector<const metrics::MetricInfo*> added;
  for (const auto& name : options.metrics) {
    const metrics::MetricInfo& metric = metrics::find_metric(name);
    if (metric.needs_mask || metric.needs_reference) {
      throw ArgumentError("metric " + name +
                          " needs annotations, which the report does not take: use evaluate");
    }
    for (const auto& [value, higher] : metric.values) {
      for (const auto& column : report_metrics()) {
        if (column.key == value)
          throw ArgumentError("the report shows " + value + " already (metric " + name + ")");
      }
    }
    added.push_back(&metric);
  }
  metrics::check_parameters(options.metrics, options.metric_params);
  return added;
}

// Mean of curves that share their fractions.
void accumulate(ReportCurve& total, const metrics::Curve& curve, size_t count) {
  if (total.score.empty()) {
    total.fraction = curve.fraction;
    total.score.assign(curve.score.size(), 0.0);
  }
  for (size_t k = 0; k < total.score.size() && k < curve.score.size(); ++k)
    total.score[k] += curve.score[k] / count;
  total.auc += curve.auc / count;
}

// The settings shown on the page: the target and the curves' options as the metric reads them.
std::vector<std::pair<std::string, std::string>> settings(const Model& model,
                                                          const ReportOptions& options) {
  std::vector<std::pair<std::string, std::string>> shown{{"target", options.target}};
  for (const auto& p : metrics::find_metric("deletion").parameters) {
    if (p.name == "steps" || p.name == "substitution" || p.name == "batch")
      shown.emplace_back("curve " + p.name, options.curve_params.text(p.name, p.fallback));
  }
  shown.emplace_back("device", c10::str(model.device()));
  return shown;
}

}  // namespace

std::string comparison_report(
    const Model& model, const std::vector<ReportPicture>& pictures, const ReportOptions& options,
    const std::function<void(size_t, size_t, const std::string&)>& progress) {
  // Check every argument before the (slow) work starts.
  std::vector<std::string> names = options.methods;
  if (names.empty()) {
    std::stringstream list(kReportMethods);
    for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  }
  for (auto& name : names) name = find_method(name).name;
  const Target target = Target::parse(options.target);
  check_parameters(names, options.params);
  metrics::check_parameters({"deletion", "insertion"}, options.curve_params);
  const auto added = added_metrics(options);
  if (pictures.empty()) throw ArgumentError("the report needs at least one image");
  ConceptOptions concept_options;
  if (!options.concept_layer.empty()) {
    const std::vector<std::string> can = concept_methods();
    concept_options.method = find_method(options.concept_method).name;
    if (std::find(can.begin(), can.end(), concept_options.method) == can.end()) {
      std::string list;
      for (const auto& name : can) list += (list.empty() ? "" : ", ") + name;
      throw ArgumentError("concept method " + concept_options.method +
                          " is not one relevance sweep; these are: " + list);
    }
    model.graph().resolve(options.concept_layer);
    if (options.concepts < 1) throw ArgumentError("the report's concepts must be >= 1");
    concept_options.params = parameters_for(find_method(concept_options.method), options.params);
    concept_options.top = options.concepts;
  }
  // Checked before any image: an index of another model or without the layer is refused.
  constexpr size_t kReferencesShown = 3;
  const std::vector<std::vector<ConceptReference>> indexed =
      options.concept_index.empty() || options.concept_layer.empty()
          ? std::vector<std::vector<ConceptReference>>()
          : concept_references(options.concept_index, model, options.concept_layer);
  const metrics::MetricInfo& deletion = metrics::find_metric("deletion");
  const metrics::MetricInfo& insertion = metrics::find_metric("insertion");

  Report report;
  report.title = options.title;
  report.model = model.path().filename().string();
  report.metrics = report_metrics();
  for (const auto* metric : added) {
    for (const auto& [value, higher] : metric->values)
      report.metrics.insert(report.metrics.end() - 1, registered(metric->name, value, value, 3));
  }
  report.settings = settings(model, options);
  for (const auto& name : names) {
    ReportMethod method;
    method.info = std::make_shared<const MethodInfo>(facts(find_method(name), options.params));
    for (const auto& h : method.info->hyperparameters) {
      method.hyperparameters.push_back(
          {h.name, options.params.text(h.name, h.fallback), h.fallback, h.meaning});
    }
    report.methods.push_back(std::move(method));
  }

  // Per method, every image as the metrics over the data set see it, combined at the end.
  std::vector<std::vector<metrics::Sample>> samples(names.size());
  const size_t count = pictures.size();
  for (size_t i = 0; i < count; ++i) {
    if (progress) progress(i, count, pictures[i].name);
    const Input input = preprocess(pictures[i].picture, model.preprocessing);
    const at::Tensor x = input.tensor.to(model.device(), model.dtype());
    const at::Tensor logits = model.logits(x).to(at::kCPU, at::kDouble);
    const int64_t cls = target.resolve(model, logits)[0];
    const std::string label =
        cls < static_cast<int64_t>(model.labels.size()) ? model.labels[cls] : "";
    ReportImage entry{pictures[i].name, label.empty() ? "class " + std::to_string(cls) : label,
                      cls, at::softmax(logits, 1)[0][cls].item<double>(),
                      report::png_data_uri(input.image), {}};

    // The first gradient sweep pays one-time costs (thread pool, allocations): not a method's
    // time.
    if (i == 0) explain(model, x, {"saliency"}, Target::index(cls));
    for (size_t m = 0; m < report.methods.size(); ++m) {
      ReportMethod& method = report.methods[m];
      const Params method_params = parameters_for(*method.info, options.params);
      const auto start = std::chrono::steady_clock::now();
      const Explanation e =
          explain(model, x, {method.info->name}, Target::index(cls), method_params)
              .at(method.info->name);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const at::Tensor map = e.map[0].detach();

      entry.overlays.push_back(
          report::png_data_uri(overlay(input.image, heat(map, e.is_signed), options.alpha)));

      metrics::Sample sample;
      sample.model = &model;
      sample.image = x[0];
      sample.map = map.to(at::kDouble);
      sample.cls = cls;
      sample.method = method.info->name;
      sample.method_params = method_params;
      std::map<std::string, metrics::Curve> curves;
      sample.curves = &curves;
      deletion.run(sample, options.curve_params);
      insertion.run(sample, options.curve_params);
      sample.curves = nullptr;
      accumulate(method.deletion, curves.at("deletion"), count);
      accumulate(method.insertion, curves.at("insertion"), count);
      method.values["deletion_auc"].push_back(curves.at("deletion").auc);
      method.values["insertion_auc"].push_back(curves.at("insertion").auc);
      method.values["sparseness"].push_back(metrics::sparseness(map));
      method.values["entropy"].push_back(metrics::entropy(map));
      method.values["seconds"].push_back(seconds);
      for (const auto* metric : added) {
        if (metric->over_dataset()) continue;
        for (const auto& [value, number] : metric->run(sample, options.metric_params))
          method.values[value].push_back(number);
      }
      samples[m].push_back(std::move(sample));
    }
    if (!options.concept_layer.empty()) {
      const Concepts found =
          concepts(model, x, options.concept_layer, Target::index(cls), concept_options);
      for (size_t k = 0; k < found.channels.size(); ++k) {
        const int64_t channel = found.channels[k];
        const at::Tensor drawn = heat(found.maps[static_cast<int64_t>(k)], true);
        std::vector<std::string> references;
        if (channel < static_cast<int64_t>(indexed.size())) {
          for (const ConceptReference& example : indexed[channel]) {
            if (references.size() == kReferencesShown) break;
            references.push_back(report::png_data_uri(read_image(example.patch)));
          }
        }
        entry.concepts.push_back({channel, found.relevance[channel].item<double>(),
                                  report::png_data_uri(overlay(input.image, drawn, options.alpha)),
                                  std::move(references)});
      }
      report.concept_layer = found.layer;
      report.concept_method = found.method;
    }
    report.images.push_back(std::move(entry));
  }
  if (progress) progress(count, count, "");
  for (const auto* metric : added) {
    if (!metric->over_dataset()) continue;
    for (size_t m = 0; m < report.methods.size(); ++m) {
      const metrics::DatasetValues combined =
          metrics::evaluate_dataset(*metric, samples[m], options.metric_params);
      auto& values = report.methods[m].values;
      for (const auto& image : combined.per_image) {
        for (const auto& [value, number] : image) values[value].push_back(number);
      }
      for (const auto& [value, number] : combined.overall) values[value].push_back(number);
    }
  }
  return report::render_report(report);
}

}  // namespace whitebox
