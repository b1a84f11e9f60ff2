#pragma once
// The metrics by name, for the CLI, the Python package and reports: what each needs, what it
// reports, the options it takes, and how to run it on one image or over a data set.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "whitebox/explain.hpp"
#include "whitebox/metrics/perturbation.hpp"

namespace whitebox::metrics {

// Everything one image offers to a metric; a metric reads what it needs.
struct Sample {
  const Model* model = nullptr;
  at::Tensor image;  // [C, H, W]
  at::Tensor map;    // [H, W]
  int64_t cls = 0;
  at::Tensor mask;       // [H, W] bool, undefined without an annotation
  at::Tensor reference;  // [H, W] human attention map, undefined without one
  // The method that made `map` and its hyper-parameters, so that a metric can re-run it on
  // perturbed inputs, for another class or on a modified model; empty when it cannot be re-run.
  std::string method;
  Params method_params;
  // Images of the data set for Focus's mosaic: `count` model inputs [count, C, H, W] of classes
  // other than `cls`; empty outside a data-set run.
  std::function<at::Tensor(int64_t count)> other_images;
  // Where a metric that follows a perturbation curve also leaves it, when the caller wants the
  // curves, by curve name (MetricInfo::curves); null otherwise.
  std::map<std::string, Curve>* curves = nullptr;
};

// A metric over the whole data set (sufficiency, MeGe): observe() runs for each image, on
// whichever process explains it, and returns the numbers the metric keeps of it; combine() reads
// every image's observations, in the data set's order, and returns the values of each image (NaN
// where there is none) and those that exist only for the whole set.
struct DatasetValues {
  std::vector<std::map<std::string, double>> per_image;
  std::map<std::string, double> overall;
};
struct DatasetStep {
  std::function<std::vector<double>(const Sample&, const Params&)> observe;
  std::function<DatasetValues(const std::vector<std::vector<double>>&, const Params&)> combine;
};

enum class Group {
  Faithfulness,
  Localisation,
  Robustness,
  Complexity,
  Agreement,
  Axiomatic,
  Randomisation
};
std::string to_string(Group group);

struct MetricInfo {
  std::string name;  // "deletion", "pointing-game", ...
  Group group;
  std::string summary;
  std::string citation;
  bool needs_model = false;
  bool needs_mask = false;
  bool needs_reference = false;
  bool needs_explainer = false;
  // The values it reports, each with whether higher is better: "deletion" -> {"deletion_auc"}.
  std::vector<std::pair<std::string, bool>> values;
  // The perturbation curves it also leaves in Sample::curves when asked: "deletion", "morf", ...
  std::vector<std::string> curves;
  // Options by name (steps, substitution, batch, ...), as for methods: every key run() reads.
  // One image's values; unset for a metric over the data set, which has `dataset` instead.
  std::function<std::map<std::string, double>(const Sample&, const Params&)> run;
  // Several images in one call, where the metric can share forward passes between them (the
  // same values as run() on each); unset otherwise.
  std::function<std::vector<std::map<std::string, double>>(const std::vector<Sample>&,
                                                           const Params&)>
      run_batch;
  std::vector<Hyperparameter> parameters;
  DatasetStep dataset;
  bool over_dataset() const { return static_cast<bool>(dataset.combine); }
};

const std::vector<MetricInfo>& registry();
// What a data-set evaluation measures when not told (`whitebox evaluate`, whitebox.evaluate).
inline constexpr const char* kEvaluateMethods = "saliency,gradcam";
inline constexpr const char* kEvaluateMetrics = "deletion,insertion,sparseness";
// By name; throws LookupError listing the valid names.
const MetricInfo& find_metric(const std::string& name);
// A metric over `samples`, one per image: observed one by one, then combined.
DatasetValues evaluate_dataset(const MetricInfo& metric, const std::vector<Sample>& samples,
                               const Params& params);
// Throws ArgumentError for a key of `params` that none of `metrics` takes (naming the valid ones
// and the closest), or a value outside its declared type and range.
void check_parameters(const std::vector<std::string>& metrics, const Params& params);

}  // namespace whitebox::metrics
