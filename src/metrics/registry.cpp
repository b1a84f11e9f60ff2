// The metrics by name: each metric's file registers its entries (metrics/registration.hpp); here
// is their order, the lookup and the check of the options a caller gives.
#include "closest.hpp"
#include "methods/parameters.hpp"
#include "metrics/registration.hpp"
#include "whitebox/error.hpp"

namespace whitebox::metrics {

std::string to_string(Group group) {
  switch (group) {
    case Group::Faithfulness:
      return "faithfulness";
    case Group::Localisation:
      return "localisation";
    case Group::Robustness:
      return "robustness";
    case Group::Complexity:
      return "complexity";
    case Group::Agreement:
      return "agreement";
    case Group::Axiomatic: return "axiomatic";
    case Group::Randomisation: return "randomisation";
  }
  return "?";
}

const std::vector<MetricInfo>& registry() {
  // The order is what users see: `whitebox evaluate --help`, the docs, the report's columns.
  static const std::vector<MetricInfo> metrics = [] {
    std::vector<MetricInfo> all;
    detail::add_deletion_metrics(all);
    detail::add_flipping_metrics(all);
    detail::add_irof_metric(all);
    detail::add_road_metric(all);
    detail::add_arcc_metric(all);
    detail::add_correlation_metrics(all);
    detail::add_infidelity_metric(all);
    detail::add_mufidelity_metric(all);
    detail::add_monotonicity_correlation_metric(all);
    detail::add_confidence_metrics(all);
    detail::add_non_sensitivity_metric(all);
    detail::add_input_invariance_metric(all);
    detail::add_localisation_metrics(all);
    detail::add_focus_metric(all);
    detail::add_robustness_metrics(all);
    detail::add_relative_stability_metric(all);
    detail::add_dataset_metrics(all);
    detail::add_randomisation_metrics(all);
    detail::add_complexity_metrics(all);
    detail::add_agreement_metrics(all);
    return all;
  }();
  return metrics;
}

const MetricInfo& find_metric(const std::string& name) {
  for (const auto& m : registry()) {
    if (m.name == name) return m;
  }
  std::vector<std::string> names;
  for (const auto& m : registry()) names.push_back(m.name);
  throw LookupError("unknown metric '" + name + "'" + did_you_mean(name, names) + "; the " +
                    std::to_string(names.size()) + " metrics: whitebox evaluate --help");
}

void check_parameters(const std::vector<std::string>& metrics, const Params& params) {
  std::vector<explainers::Declared> chosen, everyone;
  for (const auto& name : metrics) chosen.push_back({name, find_metric(name).parameters});
  for (const auto& m : registry()) everyone.push_back({m.name, m.parameters});
  explainers::check_declared(chosen, everyone, params);
}

}  // namespace whitebox::metrics
