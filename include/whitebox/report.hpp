#pragma once
// The comparison report: several methods on several images, measured with the same metrics
// (deletion and insertion curves, sparseness, entropy, time, and any registered metric that needs
// no annotation) and shown on one self-contained HTML page. `whitebox compare` and
// whitebox.report() in Python write it; docs/report.md shows it.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox {

// The methods compared when none are named: one of each family.
inline constexpr const char* kReportMethods =
    "saliency,guided-backprop,integrated-gradients,gradcam";

struct ReportOptions {
  std::vector<std::string> methods;  // empty: kReportMethods
  std::string target = "top1";       // as Target::parse reads it
  std::string title = "Explanation methods compared";
  double alpha = 0.5;  // overlay opacity
  Params params;       // the methods' hyper-parameters
  // The options of the deletion and insertion curves (steps, substitution, batch, ...), with the
  // deletion metric's defaults (metrics::find_metric("deletion").parameters).
  Params curve_params;
  std::vector<std::string> metrics;  // registered metrics added as columns
  Params metric_params;
  // A concept section when a layer is given: for each image, the `concepts` most relevant
  // channels of the layer by `concept_method` (whitebox/concepts.hpp), each with its share of
  // the relevance and its conditional map. The method's parameters are taken from `params`.
  std::string concept_layer;
  int64_t concepts = 6;
  std::string concept_method = "lrp";
  // A concept index of the layer (`whitebox concepts-index`): each concept's best reference
  // patches by relevance are shown beside its map.
  std::filesystem::path concept_index;
};

// One image of the report: its name and its picture as read ([H, W, 3] uint8 RGB).
struct ReportPicture {
  std::string name;
  at::Tensor picture;
};

// The page (HTML). `progress(done, total, name)` is called as each image starts and after the
// last. Every argument is checked before the work starts: throws ArgumentError / LookupError.
std::string comparison_report(
    const Model& model, const std::vector<ReportPicture>& pictures, const ReportOptions& options,
    const std::function<void(size_t done, size_t total, const std::string& name)>& progress = {});

}  // namespace whitebox
