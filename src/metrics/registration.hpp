#pragma once
// The metrics' registry entries: each metric's file registers its entries in an add_* function
// that registry.cpp calls, in the registry's order. Here are those functions and what the entries
// share: reading options from Params, the parts of a Sample a metric needs, and the declarations
// of the options many metrics take.
#include <map>
#include <span>
#include <string>
#include <vector>

#include "methods/parameters.hpp"
#include "whitebox/limits.hpp"
#include "whitebox/metrics/explainer.hpp"
#include "whitebox/metrics/faithfulness.hpp"
#include "whitebox/metrics/perturbation.hpp"
#include "whitebox/metrics/registry.hpp"

namespace whitebox::metrics::detail {

// In the registry's order, which `whitebox evaluate --help`, the docs and the report's columns
// follow; the metrics of a function in the order it adds them.
void add_deletion_metrics(std::vector<MetricInfo>& registry);  // deletion, insertion, monotonicity
// pixel flipping, region perturbation, selectivity
void add_flipping_metrics(std::vector<MetricInfo>& registry);
void add_irof_metric(std::vector<MetricInfo>& registry);
void add_road_metric(std::vector<MetricInfo>& registry);
void add_arcc_metric(std::vector<MetricInfo>& registry);
// faithfulness correlation, sensitivity-n
void add_correlation_metrics(std::vector<MetricInfo>& registry);
void add_infidelity_metric(std::vector<MetricInfo>& registry);
void add_mufidelity_metric(std::vector<MetricInfo>& registry);
void add_monotonicity_correlation_metric(std::vector<MetricInfo>& registry);
void add_confidence_metrics(std::vector<MetricInfo>& registry);  // confidence change, completeness
void add_non_sensitivity_metric(std::vector<MetricInfo>& registry);
void add_input_invariance_metric(std::vector<MetricInfo>& registry);
void add_localisation_metrics(std::vector<MetricInfo>& registry);  // against an object mask
void add_focus_metric(std::vector<MetricInfo>& registry);
// sensitivity, local Lipschitz, continuity
void add_robustness_metrics(std::vector<MetricInfo>& registry);
void add_relative_stability_metric(std::vector<MetricInfo>& registry);
void add_dataset_metrics(std::vector<MetricInfo>& registry);  // sufficiency, consistency, MeGe
// random logit, efficient and smooth MPRT
void add_randomisation_metrics(std::vector<MetricInfo>& registry);
void add_complexity_metrics(std::vector<MetricInfo>& registry);
void add_agreement_metrics(std::vector<MetricInfo>& registry);  // against human attention maps

// ---- options, read from Params with the option struct's value as the fallback

using Values = std::map<std::string, double>;

// Params "score": probability or logit; throws LookupError.
Score score_option(const Params& p, Score fallback);
// Throws ArgumentError for a value below 1.
int64_t positive(const Params& p, const std::string& name, int64_t fallback);
// Throws ArgumentError for a negative seed.
uint64_t seed_option(const Params& p, uint64_t fallback);
// "0.1,0.5" -> {0.1, 0.5}; throws ArgumentError naming `name`.
std::vector<double> number_list(const std::string& text, const std::string& name);

// The options every substitution-based metric shares (its struct has these fields).
template <class Options>
void read_substitution_options(const Params& p, Options& o) {
  o.substitution = parse_substitution(p.text("substitution", to_string(o.substitution)));
  o.batch = positive(p, "batch", o.batch);
  o.score = score_option(p, o.score);
  o.blur_sigma = p.number("blur_sigma", o.blur_sigma);
  o.seed = seed_option(p, o.seed);
}

// The options ROAD and ARCC share (fractions, noise, batch, seed), over `o`'s defaults: ARCC's
// fractions are not ROAD's.
RoadOptions road_options(const Params& p, RoadOptions o);

// ---- what a metric reads of a Sample; each throws ArgumentError naming `metric` when it is
// missing

const Model& model_of(const Sample& s, const std::string& metric);
const std::string& method_of(const Sample& s, const std::string& metric);
const at::Tensor& mask_of(const Sample& s, const std::string& metric);
const at::Tensor& reference_of(const Sample& s, const std::string& metric);
// The sample's method re-run on `model` (the sample's own or a modified copy).
ClassExplainer explainer_on(const Model& model, const Sample& s, const std::string& metric);
// The sample's method re-run on its model, for any class or for the sample's class.
ClassExplainer class_explainer_of(const Sample& s, const std::string& metric);
Explainer explainer_of(const Sample& s, const std::string& metric);
// Leaves a curve where the caller asked for curves (Sample::curves), and passes it on.
const Curve& keep_curve(const Sample& s, const std::string& name, const Curve& curve);

// ---- declared options, their defaults written from the option structs

using explainers::choice_parameter;
using explainers::integer_parameter;
using explainers::number_parameter;
using Declared = std::vector<Hyperparameter>;

Declared operator+(Declared a, const Declared& b);

// A list's declared default: its numbers, comma-separated, and more than four evenly spaced ones
// as first,...,last (for reading: number_list() takes every number).
std::string number_list_text(std::span<const double> values);

Declared score_parameter(Score fallback);

// The batch and seed of an options struct.
template <class Options>
Declared common_parameters(const Options& o) {
  return {integer_parameter("batch", o.batch, "perturbed inputs per forward pass", 1, kMostBatch),
          integer_parameter("seed", o.seed, "random seed of the draws", 0, kMostSeed)};
}

// What read_substitution_options() reads.
template <class Options>
Declared substitution_parameters(const Options& o) {
  return Declared{
             choice_parameter("substitution", to_string(o.substitution),
                              "what replaces a removed pixel", {"blur", "mean", "zero", "uniform"}),
             number_parameter("blur_sigma", o.blur_sigma,
                              "substitution=blur: Gaussian standard deviation, pixels", 0)} +
         common_parameters(o) + score_parameter(o.score);
}

// What road_options() reads; `fractions` says what the fractions are.
Declared road_parameters(const RoadOptions& o, const std::string& fractions);

}  // namespace whitebox::metrics::detail
