// The metrics by name: what each needs, what it reports, and how options map to its parameters.
#include <array>
#include <cmath>
#include <memory>
#include <mutex>
#include <span>
#include <sstream>

#include "closest.hpp"
#include "methods/parameters.hpp"
#include "metrics/common.hpp"
#include "whitebox/image.hpp"
#include "whitebox/randomisation.hpp"

namespace whitebox::metrics {
namespace {

using Values = std::map<std::string, double>;

// The names of Score, as params "score" gives them.
std::string score_name(Score score) { return score == Score::Logit ? "logit" : "probability"; }

Score score_option(const Params& p, Score fallback) {
  const std::string name = p.text("score", score_name(fallback));
  if (name == "probability") return Score::Probability;
  if (name == "logit") return Score::Logit;
  throw LookupError("unknown score '" + name + "' (valid: probability, logit)");
}

int64_t positive(const Params& p, const std::string& name, int64_t fallback) {
  const int64_t value = p.integer(name, fallback);
  detail::require_at_least(value, 1, name);
  return value;
}

uint64_t seed_option(const Params& p, uint64_t fallback) {
  const int64_t seed = p.integer("seed", static_cast<int64_t>(fallback));
  detail::require_at_least(seed, 0, "seed");
  return static_cast<uint64_t>(seed);
}

std::vector<double> number_list(const std::string& text, const std::string& name) {
  std::vector<double> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      values.push_back(std::stod(item, &used));
      if (item.find_first_not_of(" \t", used) != std::string::npos)
        throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw ArgumentError(name + " takes comma-separated numbers, not '" + text + "'");
    }
  }
  if (values.empty()) throw ArgumentError(name + " needs at least one number");
  return values;
}

// A list's declared default: its numbers, comma-separated, and more than four evenly spaced ones
// as first,...,last (for reading: number_list() takes every number).
std::string number_list_text(std::span<const double> values) {
  const size_t n = values.size();
  bool even = n > 4;
  for (size_t i = 2; even && i < n; ++i)
    even = std::abs((values[i] - values[i - 1]) - (values[1] - values[0])) < 1e-9;
  const auto text_of = explainers::fallback_text;
  if (even) return text_of(values.front()) + ",...," + text_of(values.back());
  std::string text;
  for (double v : values) {
    if (!text.empty()) text += ',';
    text += text_of(v);
  }
  return text;
}

// The options every substitution-based metric shares (its struct has these fields).
template <class Options>
void read_substitution_options(const Params& p, Options& o) {
  o.substitution = parse_substitution(p.text("substitution", to_string(o.substitution)));
  o.batch = positive(p, "batch", o.batch);
  o.score = score_option(p, o.score);
  o.blur_sigma = p.number("blur_sigma", o.blur_sigma);
  o.seed = seed_option(p, o.seed);
}

PerturbationOptions perturbation_options(const Params& p) {
  PerturbationOptions o;
  o.steps = positive(p, "steps", o.steps);
  read_substitution_options(p, o);
  return o;
}

CorrelationOptions correlation_options(const Params& p) {
  CorrelationOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.subset_size = positive(p, "subset_size", o.subset_size);
  read_substitution_options(p, o);
  return o;
}

FlippingOptions flipping_options(const Params& p) {
  FlippingOptions o;
  o.region = positive(p, "region", o.region);
  o.steps = positive(p, "steps", o.steps);
  read_substitution_options(p, o);
  return o;
}

RegionEffectOptions region_effect_options(const Params& p) {
  RegionEffectOptions o;
  o.region = positive(p, "region", o.region);
  o.samples = positive(p, "samples", o.samples);
  o.batch = positive(p, "batch", o.batch);
  o.score = score_option(p, o.score);
  o.seed = seed_option(p, o.seed);
  return o;
}

RobustnessOptions robustness_options(const Params& p) {
  RobustnessOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.radius = p.number("radius", o.radius);
  o.batch = positive(p, "batch", o.batch);
  o.normalize = p.integer("normalize", o.normalize) != 0;
  o.seed = seed_option(p, o.seed);
  return o;
}

// Leaves a curve where the caller asked for curves (Sample::curves), and passes it on.
const Curve& keep_curve(const Sample& s, const std::string& name, const Curve& curve) {
  if (s.curves != nullptr) (*s.curves)[name] = curve;
  return curve;
}

const Model& model_of(const Sample& s, const std::string& metric) {
  if (s.model == nullptr) throw ArgumentError(metric + " needs a model");
  return *s.model;
}

const std::string& method_of(const Sample& s, const std::string& metric) {
  if (s.method.empty()) throw ArgumentError(metric + " needs an explanation method it can re-run");
  return s.method;
}

// The sample's method re-run on `model` (the sample's own or a modified copy).
ClassExplainer explainer_on(const Model& model, const Sample& s, const std::string& metric) {
  return [&model, method = method_of(s, metric), params = s.method_params](const at::Tensor& inputs,
                                                                           int64_t cls) {
    const std::vector<int64_t> classes(inputs.size(0), cls);
    return explain(model, inputs, {method}, classes, params).begin()->second.map;
  };
}

ClassExplainer class_explainer_of(const Sample& s, const std::string& metric) {
  return explainer_on(model_of(s, metric), s, metric);
}

// The sample's method on the trained model and on the model with every parameter layer
// re-drawn (efficient and smooth MPRT), plain or SmoothGrad-averaged.
RandomisationResult full_randomisation(const Sample& s, const std::string& metric, const Params& p,
                                       int64_t smooth_samples) {
  RandomisationOptions options;
  options.all_at_once = true;
  options.seed = seed_option(p, options.seed);
  options.params = s.method_params;
  options.smooth_samples = smooth_samples;
  options.smooth_noise = p.number("noise", options.smooth_noise);
  return parameter_randomisation(model_of(s, metric), s.image.unsqueeze(0), {method_of(s, metric)},
                                 Target::index(s.cls), options);
}

// The method re-run for the sample's class.
Explainer explainer_of(const Sample& s, const std::string& metric) {
  return [explainer = class_explainer_of(s, metric), cls = s.cls](const at::Tensor& inputs) {
    return explainer(inputs, cls);
  };
}

const at::Tensor& mask_of(const Sample& s, const std::string& metric) {
  if (!s.mask.defined()) throw ArgumentError(metric + " needs an object mask (boxes or masks)");
  return s.mask;
}

const at::Tensor& reference_of(const Sample& s, const std::string& metric) {
  if (!s.reference.defined()) throw ArgumentError(metric + " needs a human attention map");
  return s.reference;
}

// Deletion or insertion of several samples of one model in shared forward passes.
std::vector<Values> curve_batch(const std::vector<Sample>& samples, const Params& p,
                                const std::string& metric, const std::string& value,
                                bool insert) {
  if (samples.empty()) return {};
  const Model& model = model_of(samples.front(), metric);
  std::vector<at::Tensor> images, maps;
  std::vector<int64_t> classes;
  for (const Sample& s : samples) {
    if (s.model != &model) throw ArgumentError(metric + " of a batch needs one model");
    images.push_back(s.image);
    maps.push_back(s.map);
    classes.push_back(s.cls);
  }
  const PerturbationOptions options = perturbation_options(p);
  const auto curves = insert ? insertion(model, at::stack(images), at::stack(maps), classes, options)
                             : deletion(model, at::stack(images), at::stack(maps), classes, options);
  std::vector<Values> values;
  for (size_t i = 0; i < samples.size(); ++i)
    values.push_back({{value, keep_curve(samples[i], metric, curves[i]).auc}});
  return values;
}

// The options of each family of metrics, as run() reads them.
using explainers::choice_parameter;
using explainers::integer_parameter;
using explainers::number_parameter;
using Declared = std::vector<Hyperparameter>;

Declared operator+(Declared a, const Declared& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Declared score_parameter(Score fallback) {
  return {choice_parameter("score", score_name(fallback),
                           "what the curves follow: probability (softmax) or logit",
                           {"probability", "logit"})};
}

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

Declared perturbation_parameters() {
  const PerturbationOptions o;
  return Declared{
             integer_parameter("steps", o.steps, "curve points after the unperturbed one", 1)} +
         substitution_parameters(o);
}

Declared correlation_parameters() {
  const CorrelationOptions o;
  return Declared{integer_parameter("samples", o.samples, "random subsets", 1),
                  integer_parameter("subset_size", o.subset_size, "pixels per subset", 1)} +
         substitution_parameters(o);
}

Declared flipping_parameters() {
  const FlippingOptions o;
  return Declared{integer_parameter("region", o.region, "side of the square regions, pixels", 1),
                  integer_parameter("steps", o.steps, "regions flipped", 1)} +
         substitution_parameters(o);
}

Declared region_effect_parameters() {
  const RegionEffectOptions o;
  return Declared{integer_parameter("region", o.region, "side of the square regions, pixels", 1),
                  integer_parameter("samples", o.samples, "noise draws per region", 1)} +
         common_parameters(o) + score_parameter(o.score);
}

Declared robustness_parameters() {
  const RobustnessOptions o;
  return Declared{integer_parameter("samples", o.samples, "perturbed inputs", 1),
                  number_parameter("radius", o.radius,
                                   "half-width of the uniform L-infinity noise (input units)", 0),
                  integer_parameter("normalize", o.normalize, "1: maps normalised before comparing",
                                    0, 1)} +
         common_parameters(o);
}

// The options ROAD and ARCC share, over `o`'s defaults (ARCC's fractions are not ROAD's).
RoadOptions road_options(const Params& p, RoadOptions o) {
  if (p.has("fractions")) o.fractions = number_list(p.text("fractions", ""), "fractions");
  o.noise = p.number("noise", o.noise);
  o.batch = positive(p, "batch", o.batch);
  o.seed = seed_option(p, o.seed);
  return o;
}

Declared road_parameters(const RoadOptions& o, const std::string& fractions) {
  return Declared{
             {"fractions", number_list_text(o.fractions), fractions},
             number_parameter("noise", o.noise, "std of the noise added to imputed values", 0)} +
         common_parameters(o);
}

IrofOptions irof_options(const Params& p) {
  IrofOptions o;
  o.region = positive(p, "region", o.region);
  o.ruler = p.number("ruler", o.ruler);
  read_substitution_options(p, o);
  return o;
}

Declared irof_parameters() {
  const IrofOptions o;
  return Declared{integer_parameter("region", o.region, "SLIC superpixel side, pixels", 2),
                  number_parameter("ruler", o.ruler, "SLIC compactness", 0)} +
         substitution_parameters(o);
}

InfidelityOptions infidelity_options(const Params& p) {
  InfidelityOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.noise = p.number("noise", o.noise);
  o.normalize = p.integer("normalize", o.normalize) != 0;
  o.batch = positive(p, "batch", o.batch);
  o.score = score_option(p, o.score);
  o.seed = seed_option(p, o.seed);
  return o;
}

Declared infidelity_parameters() {
  const InfidelityOptions o;
  return Declared{integer_parameter("samples", o.samples, "perturbations", 1),
                  number_parameter("noise", o.noise,
                                   "std of the Gaussian perturbations (input units)", 0),
                  integer_parameter("normalize", o.normalize,
                                    "1: the map's scale fitted to the score changes", 0, 1)} +
         common_parameters(o) + score_parameter(o.score);
}

MuFidelityOptions mufidelity_options(const Params& p) {
  MuFidelityOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.grid = positive(p, "grid", o.grid);
  o.subset_fraction = p.number("subset_fraction", o.subset_fraction);
  read_substitution_options(p, o);
  return o;
}

Declared mufidelity_parameters() {
  const MuFidelityOptions o;
  return Declared{integer_parameter("samples", o.samples, "random sets of cells", 1),
                  integer_parameter("grid", o.grid, "cells per side", 1),
                  number_parameter("subset_fraction", o.subset_fraction,
                                   "share of the cells removed", 0, 1)} +
         substitution_parameters(o);
}

ContinuityOptions continuity_options(const Params& p) {
  ContinuityOptions o;
  o.steps = positive(p, "steps", o.steps);
  o.step = positive(p, "step", o.step);
  o.batch = positive(p, "batch", o.batch);
  return o;
}

Declared continuity_parameters() {
  const ContinuityOptions o;
  return {
      integer_parameter("steps", o.steps, "translations", 1),
      integer_parameter("step", o.step, "pixels added to the shift at each step", 1),
      integer_parameter("batch", o.batch, "translated copies per explainer call", 1, kMostBatch)};
}

// What params "layer" gives for StabilityOptions::layer left empty: the last spatial feature map.
constexpr const char* kAutoLayer = "auto";

StabilityOptions stability_options(const Params& p) {
  StabilityOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.radius = p.number("radius", o.radius);
  o.batch = positive(p, "batch", o.batch);
  o.eps = p.number("eps", o.eps);
  o.seed = seed_option(p, o.seed);
  o.layer = p.text("layer", kAutoLayer);
  if (o.layer == kAutoLayer) o.layer.clear();
  return o;
}

Declared stability_parameters() {
  const StabilityOptions o;
  return Declared{integer_parameter("samples", o.samples, "perturbed inputs", 1),
                  number_parameter("radius", o.radius,
                                   "half-width of the uniform L-infinity noise (input units)", 0),
                  number_parameter("eps", o.eps, "smallest divisor", 0),
                  {"layer", kAutoLayer,
                   "RRS's representation: a value name (default: the last spatial feature map)"}} +
         common_parameters(o);
}

// The randomisation metrics draw from the sanity checks' default seed.
Hyperparameter randomisation_seed_parameter(std::string meaning) {
  return integer_parameter("seed", RandomisationOptions{}.seed, std::move(meaning), 0, kMostSeed);
}

// Smooth MPRT's noisy copies per map (RandomisationOptions' 0 means plain maps).
constexpr int64_t kSmoothMprtSamples = 10;
// Sensitivity-n's subset sizes, as fractions of the pixels.
constexpr std::array<double, 3> kSensitivityNFractions{0.001, 0.01, 0.1};
// Top-k intersection's k.
constexpr int64_t kTopK = 1000;
// The side of the grid over which sufficiency and consistency compare maps.
constexpr int64_t kProfileGrid = 7;

// Faithfulness: what happens to the model when the relevant pixels go.
void add_faithfulness(std::vector<MetricInfo>& r) {
  r.push_back(
      {.name = "deletion",
       .group = Group::Faithfulness,
       .summary = "score while the most relevant pixels are removed; area under the curve",
       .citation =
           "Petsiuk, Das & Saenko, RISE: Randomized Input Sampling for Explanation of Black-box "
           "Models, BMVC 2018",
       .needs_model = true,
       .values = {{"deletion_auc", false}},
       .curves = {"deletion"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve =
             deletion(model_of(s, "deletion"), s.image, s.map, s.cls, perturbation_options(p));
         return {{"deletion_auc", keep_curve(s, "deletion", curve).auc}};
       },
       .run_batch = [](const std::vector<Sample>& s, const Params& p) {
         return curve_batch(s, p, "deletion", "deletion_auc", /*insert=*/false);
       },
       .parameters = perturbation_parameters()});
  r.push_back(
      {.name = "insertion",
       .group = Group::Faithfulness,
       .summary = "score while the most relevant pixels are put back; area under the curve",
       .citation =
           "Petsiuk, Das & Saenko, RISE: Randomized Input Sampling for Explanation of Black-box "
           "Models, BMVC 2018",
       .needs_model = true,
       .values = {{"insertion_auc", true}},
       .curves = {"insertion"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve =
             insertion(model_of(s, "insertion"), s.image, s.map, s.cls, perturbation_options(p));
         return {{"insertion_auc", keep_curve(s, "insertion", curve).auc}};
       },
       .run_batch = [](const std::vector<Sample>& s, const Params& p) {
         return curve_batch(s, p, "insertion", "insertion_auc", /*insert=*/true);
       },
       .parameters = perturbation_parameters()});
  r.push_back(
      {.name = "monotonicity",
       .group = Group::Faithfulness,
       .summary = "share of the steps at which the score does not fall while pixels are put "
                  "back least relevant first (1: monotonic)",
       .citation = "Arya et al., One Explanation Does Not Fit All: A Toolkit and Taxonomy of AI "
                   "Explainability Techniques, arXiv:1909.03012, 2019",
       .needs_model = true,
       .values = {{"monotonicity", true}},
       .curves = {"monotonicity"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve = monotonicity_curve(model_of(s, "monotonicity"), s.image, s.map,
                                                s.cls, perturbation_options(p));
         return {{"monotonicity", monotonicity(keep_curve(s, "monotonicity", curve))}};
       },
       .parameters = perturbation_parameters()});
  r.push_back(
      {.name = "pixel-flipping",
       .group = Group::Faithfulness,
       .summary = "regions flipped most- and least-relevant first; area over the perturbation "
                  "curve (AOPC)",
       .citation = "Samek, Binder, Montavon, Lapuschkin & Mueller, Evaluating the visualization of "
                   "what a deep neural network has learned, IEEE TNNLS 2017",
       .needs_model = true,
       .values = {{"aopc_morf", true}, {"aopc_lerf", false}},
       .curves = {"morf", "lerf"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Flipping f = pixel_flipping(model_of(s, "pixel-flipping"), s.image, s.map, s.cls,
                                           flipping_options(p));
         keep_curve(s, "morf", f.morf);
         keep_curve(s, "lerf", f.lerf);
         return {{"aopc_morf", f.aopc_morf}, {"aopc_lerf", f.aopc_lerf}};
       },
       .parameters = flipping_parameters()});
  r.push_back(
      {.name = "region-perturbation",
       .group = Group::Faithfulness,
       .summary = "regions flipped most relevant first only (pixel flipping's MoRF curve, as "
                  "Quantus's RegionPerturbation): its AOPC",
       .citation = "Samek, Binder, Montavon, Lapuschkin & Mueller, Evaluating the visualization of "
                   "what a deep neural network has learned, IEEE TNNLS 2017",
       .needs_model = true,
       .values = {{"region_perturbation_aopc", true}},
       .curves = {"region_perturbation"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve = region_perturbation(model_of(s, "region-perturbation"), s.image,
                                                 s.map, s.cls, flipping_options(p));
         return {{"region_perturbation_aopc", aopc(keep_curve(s, "region_perturbation", curve))}};
       },
       .parameters = flipping_parameters()});
  r.push_back(
      {.name = "selectivity",
       .group = Group::Faithfulness,
       .summary = "area under the score while square regions are removed most relevant first "
                  "(region perturbation's MoRF curve)",
       .citation = "Montavon, Samek & Mueller, Methods for interpreting and understanding deep "
                   "neural networks, Digital Signal Processing 2018",
       .needs_model = true,
       .values = {{"selectivity_auc", false}},
       .curves = {"selectivity"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve = region_perturbation(model_of(s, "selectivity"), s.image, s.map,
                                                 s.cls, flipping_options(p));
         return {{"selectivity_auc", keep_curve(s, "selectivity", curve).auc}};
       },
       .parameters = flipping_parameters()});
  r.push_back(
      {.name = "irof",
       .group = Group::Faithfulness,
       .summary = "area over the relative score while SLIC superpixels are removed most relevant "
                  "(by mean) first",
       .citation = "Rieger & Hansen, IROF: a low resource evaluation metric for explanation "
                   "methods, ICLR Workshop 2020",
       .needs_model = true,
       .values = {{"irof", true}},
       .curves = {"irof"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve =
             irof_curve(model_of(s, "irof"), s.image, s.map, s.cls, irof_options(p));
         return {{"irof", 1.0 - keep_curve(s, "irof", curve).auc}};
       },
       .parameters = irof_parameters()});
  r.push_back(
      {.name = "road",
       .group = Group::Faithfulness,
       .summary =
           "score with the most / least relevant pixels removed and re-filled by noisy linear "
           "imputation; combined: the mean of (LeRF - MoRF) / 2 over the fractions",
       .citation = "Rong, Leemann, Borisov, Kasneci & Kasneci, A Consistent and Efficient "
                   "Evaluation Strategy for Attribution Methods, ICML 2022",
       .needs_model = true,
       .values = {{"road_morf_auc", false}, {"road_lerf_auc", true}, {"road_combined", true}},
       .curves = {"road_morf", "road_lerf"},
       .run = [](const Sample& s, const Params& p) -> Values {
         RoadOptions o = road_options(p, RoadOptions{});
         o.score = score_option(p, o.score);
         const Model& model = model_of(s, "road");
         const Curve morf = keep_curve(s, "road_morf", road(model, s.image, s.map, s.cls, o));
         o.most_relevant_first = false;
         const Curve lerf = keep_curve(s, "road_lerf", road(model, s.image, s.map, s.cls, o));
         return {{"road_morf_auc", morf.auc},
                 {"road_lerf_auc", lerf.auc},
                 {"road_combined", road_combined(morf, lerf)}};
       },
       .parameters =
           road_parameters(RoadOptions{}, "comma-separated fractions of the pixels removed") +
           score_parameter(RoadOptions{}.score)});
  r.push_back(
      {.name = "arcc",
       .group = Group::Faithfulness,
       .summary = "geometric mean of coherency (the map of the image weighted by the map agrees "
                  "with the map), 1 - complexity (mean of the scaled map) and ROAD's combined "
                  "score; also their harmonic mean, as pytorch-grad-cam computes it",
       .citation = "pytorch-grad-cam 1.5 (Gildenblat et al.), arXiv:2605.14641",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"arcc", true},
                  {"arcc_harmonic", true},
                  {"arcc_coherency", true},
                  {"arcc_complexity", false},
                  {"arcc_road", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Arcc a = arcc(model_of(s, "arcc"), class_explainer_of(s, "arcc"), s.image, s.map,
                             s.cls, road_options(p, arcc_road_options()));
         return {{"arcc", a.arcc},
                 {"arcc_harmonic", a.harmonic},
                 {"arcc_coherency", a.coherency},
                 {"arcc_complexity", a.complexity},
                 {"arcc_road", a.road}};
       },
       .parameters = road_parameters(arcc_road_options(),
                                     "comma-separated fractions of the pixels ROAD removes")});
  r.push_back(
      {.name = "faithfulness-correlation",
       .group = Group::Faithfulness,
       .summary = "correlation between the relevance of random pixel subsets and the score drop "
                  "when they are removed",
       .citation = "Bhatt, Weller & Moura, Evaluating and Aggregating Feature-based Model "
                   "Explanations, IJCAI 2020",
       .needs_model = true,
       .values = {{"faithfulness_correlation", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"faithfulness_correlation",
                  faithfulness_correlation(model_of(s, "faithfulness-correlation"), s.image, s.map,
                                           s.cls, correlation_options(p))}};
       },
       .parameters = correlation_parameters()});
  r.push_back(
      {.name = "sensitivity-n",
       .group = Group::Faithfulness,
       .summary = "faithfulness correlation for subsets of several sizes n (fractions of the "
                  "pixels); their mean",
       .citation =
           "Ancona, Ceolini, Oeztireli & Gross, Towards better understanding of gradient-based "
           "attribution methods for deep neural networks, ICLR 2018",
       .needs_model = true,
       .values = {{"sensitivity_n", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const int64_t pixels = s.map.numel();
         std::vector<int64_t> sizes;
         const std::vector<double> fractions =
             p.has("fractions") ? number_list(p.text("fractions", ""), "fractions")
                                : std::vector<double>(kSensitivityNFractions.begin(),
                                                      kSensitivityNFractions.end());
         for (double f : fractions) {
           if (!(f > 0 && f <= 1))
             throw ArgumentError("sensitivity-n fractions must lie in (0, 1], not " + c10::str(f));
           sizes.push_back(std::max<int64_t>(1, std::llround(f * pixels)));
         }
         const SensitivityN result = sensitivity_n(model_of(s, "sensitivity-n"), s.image, s.map,
                                                   s.cls, sizes, correlation_options(p));
         double mean = 0;
         for (double c : result.correlation)
           mean += c / static_cast<double>(result.correlation.size());
         return {{"sensitivity_n", mean}};
       },
       .parameters = Declared{{"fractions", number_list_text(kSensitivityNFractions),
                               "comma-separated subset sizes n, as fractions "
                               "of the pixels, in (0, 1]"}} +
                     correlation_parameters()});
  r.push_back(
      {.name = "infidelity",
       .group = Group::Faithfulness,
       .summary =
           "mean squared error of the map as a linear predictor of the score change under noise",
       .citation =
           "Yeh, Hsieh, Suggala, Inouye & Ravikumar, On the (In)fidelity and Sensitivity of "
           "Explanations, NeurIPS 2019",
       .needs_model = true,
       .values = {{"infidelity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"infidelity", infidelity(model_of(s, "infidelity"), s.image, s.map, s.cls,
                                           infidelity_options(p))}};
       },
       .parameters = infidelity_parameters()});
  r.push_back({.name = "mufidelity",
               .group = Group::Faithfulness,
               .summary =
                   "correlation between the relevance of random sets of grid cells and the score "
                   "drop when they are removed",
               .citation = "Bhatt, Weller & Moura, Evaluating and Aggregating Feature-based Model "
                           "Explanations, IJCAI 2020 (grid cells as in Xplique)",
               .needs_model = true,
               .values = {{"mufidelity", true}},
               .run = [](const Sample& s, const Params& p) -> Values {
                 return {{"mufidelity", mufidelity(model_of(s, "mufidelity"), s.image, s.map, s.cls,
                                                   mufidelity_options(p))}};
               },
               .parameters = mufidelity_parameters()});
  r.push_back(
      {.name = "monotonicity-correlation",
       .group = Group::Faithfulness,
       .summary = "Spearman correlation between the summed |map| of square regions and the mean "
                  "squared score change when each is replaced by noise",
       .citation = "Nguyen & Martinez, On quantitative aspects of model interpretability, "
                   "arXiv:2007.07584, 2020",
       .needs_model = true,
       .values = {{"monotonicity_correlation", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"monotonicity_correlation", monotonicity_correlation(region_effects(
                                                  model_of(s, "monotonicity-correlation"), s.image,
                                                  s.map, s.cls, region_effect_options(p)))}};
       },
       .parameters = region_effect_parameters()});
  r.push_back(
      {.name = "confidence-change",
       .group = Group::Faithfulness,
       .summary = "the class probability for the image times its min-max normalised map against "
                  "the image's: drop = max(0, p - p_masked) / p (averaged: average drop), and "
                  "whether it rose (averaged: increase in confidence)",
       .citation = "Chattopadhay, Sarkar, Howlader & Balasubramanian, Grad-CAM++, WACV 2018",
       .needs_model = true,
       .values = {{"confidence_drop", false}, {"confidence_increase", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         const ConfidenceChange c =
             confidence_change(model_of(s, "confidence-change"), s.image, s.map, s.cls);
         return {{"confidence_drop", c.drop}, {"confidence_increase", c.increase ? 1.0 : 0.0}};
       }});
}

// Localisation: the map against object annotations.
void add_localisation(std::vector<MetricInfo>& r) {
  r.push_back(
      {.name = "pointing-game",
       .group = Group::Localisation,
       .summary = "whether the map's maximum falls on the object (within a tolerance)",
       .citation =
           "Zhang, Bargal, Lin, Brandt, Shen & Sclaroff, Top-down Neural Attention by Excitation "
           "Backprop, ECCV 2016 / IJCV 2018",
       .needs_mask = true,
       .values = {{"pointing_game", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"pointing_game", pointing_game(s.map, mask_of(s, "pointing-game"),
                                                 p.number("tolerance", kPointingGameTolerance))
                                       ? 1.0
                                       : 0.0}};
       },
       .parameters = {number_parameter(
           "tolerance", kPointingGameTolerance,
           "distance in pixels from the mask within which the maximum counts as a hit", 0)}});
  r.push_back(
      {.name = "energy-pointing-game",
       .group = Group::Localisation,
       .summary = "share of the positive map's energy on the object",
       .citation =
           "Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu, Score-CAM: Score-Weighted Visual "
           "Explanations for "
           "Convolutional Neural Networks, CVPR Workshops 2020",
       .needs_mask = true,
       .values = {{"energy_pointing_game", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"energy_pointing_game",
                  energy_pointing_game(s.map, mask_of(s, "energy-pointing-game"))}};
       }});
  r.push_back(
      {.name = "relevance-mass",
       .group = Group::Localisation,
       .summary = "share of the positive relevance inside the object mask",
       .citation = "Arras, Osman & Samek, CLEVR-XAI: A benchmark dataset for the ground truth "
                   "evaluation of neural network explanations, Information Fusion 2022",
       .needs_mask = true,
       .values = {{"relevance_mass_accuracy", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"relevance_mass_accuracy",
                  relevance_mass_accuracy(s.map, mask_of(s, "relevance-mass"))}};
       }});
  r.push_back(
      {.name = "relevance-rank",
       .group = Group::Localisation,
       .summary = "share of the K most relevant pixels inside the mask (K = mask size)",
       .citation = "Arras, Osman & Samek, CLEVR-XAI: A benchmark dataset for the ground truth "
                   "evaluation of neural network explanations, Information Fusion 2022",
       .needs_mask = true,
       .values = {{"relevance_rank_accuracy", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"relevance_rank_accuracy",
                  relevance_rank_accuracy(s.map, mask_of(s, "relevance-rank"))}};
       }});
  r.push_back(
      {.name = "iou",
       .group = Group::Localisation,
       .summary =
           "intersection over union of the map thresholded at a share of its maximum and the mask",
       .citation =
           "Zhou, Khosla, Lapedriza, Oliva & Torralba, Learning Deep Features for Discriminative "
           "Localization, CVPR 2016",
       .needs_mask = true,
       .values = {{"iou", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"iou", iou(s.map, mask_of(s, "iou"), p.number("threshold", kIouThreshold))}};
       },
       .parameters = {number_parameter("threshold", kIouThreshold,
                                       "share of the map's maximum above which a pixel is on", 0,
                                       1)}});
  r.push_back(
      {.name = "top-k-intersection",
       .group = Group::Localisation,
       .summary = "share of the map's k highest pixels on the object",
       .citation = "Theiner, Mueller-Budack & Ewerth, Interpretable Semantic Photo Geolocation, "
                   "WACV 2022",
       .needs_mask = true,
       .values = {{"top_k_intersection", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"top_k_intersection", top_k_intersection(s.map, mask_of(s, "top-k-intersection"),
                                                           p.integer("k", kTopK))}};
       },
       .parameters = {integer_parameter(
           "k", kTopK, "pixels counted (all of them when the map has fewer)", 1)}});
  r.push_back(
      {.name = "localisation-auc",
       .group = Group::Localisation,
       .summary = "ROC area of the map as a detector of the object's pixels (0.5: chance)",
       .citation = "Fawcett, An introduction to ROC analysis, Pattern Recognition Letters 2006 "
                   "(as a localisation metric: Quantus, Hedstroem et al., JMLR 2023)",
       .needs_mask = true,
       .values = {{"localisation_auc", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"localisation_auc", localisation_auc(s.map, mask_of(s, "localisation-auc"))}};
       }});
}

// Axiomatic: properties an attribution should have by construction.
void add_axiomatic(std::vector<MetricInfo>& r) {
  r.push_back(
      {.name = "completeness",
       .group = Group::Axiomatic,
       .summary = "|sum(map) - (y(x) - y(0))| / |y(x) - y(0)| for the class logit y and the "
                  "all-zero input: 0 for a complete attribution (use a signed, summed map)",
       .citation = "Sundararajan, Taly & Yan, Axiomatic Attribution for Deep Networks, ICML 2017",
       .needs_model = true,
       .values = {{"completeness_gap", false}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"completeness_gap",
                  completeness_gap(model_of(s, "completeness"), s.image, s.map, s.cls)}};
       }});
  r.push_back(
      {.name = "non-sensitivity",
       .group = Group::Axiomatic,
       .summary = "share of square regions that have no relevance (summed |map| <= eps) but do "
                  "change the score under noise, or the reverse: 0 for a map that gives "
                  "relevance exactly to what matters",
       .citation = "Nguyen & Martinez, On quantitative aspects of model interpretability, "
                   "arXiv:2007.07584, 2020",
       .needs_model = true,
       .values = {{"non_sensitivity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"non_sensitivity",
                  non_sensitivity(region_effects(model_of(s, "non-sensitivity"), s.image, s.map,
                                                 s.cls, region_effect_options(p)),
                                  p.number("eps", kNonSensitivityEps))}};
       },
       .parameters =
           region_effect_parameters() +
           Declared{number_parameter(
               "eps", kNonSensitivityEps,
               "at most this much relevance or mean squared score change counts as none", 0)}});
  r.push_back(
      {.name = "input-invariance",
       .group = Group::Axiomatic,
       .summary = "relative L1 difference between the map and the method's map for the input "
                  "shifted by a constant on a model whose first layer undoes the shift: 0 for "
                  "an input-invariant method",
       .citation = "Kindermans, Hooker, Adebayo, Alber, Schutt, Dahne, Erhan & Kim, The "
                   "(Un)reliability of Saliency Methods, in Explainable AI, Springer 2019",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"input_invariance", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const double shift = p.number("shift", kInvarianceShift);
         const Model shifted = shifted_input_model(model_of(s, "input-invariance"), shift,
                                                   s.image.size(1), s.image.size(2));
         return {{"input_invariance",
                  input_invariance(explainer_on(shifted, s, "input-invariance"), s.image, s.map,
                                   s.cls, shift)}};
       },
       .parameters = {number_parameter("shift", kInvarianceShift,
                                       "the constant added to every input value", -HUGE_VAL)}});
}

// Focus's two images of other classes, from the files of params "others", preprocessed as the
// model wants them; each must not be predicted as the sample's class.
std::pair<at::Tensor, at::Tensor> focus_others(const Sample& s, const Params& p) {
  const Model& model = model_of(s, "focus");
  if (p.text("others", "").empty() && s.other_images) {
    const at::Tensor drawn = s.other_images(2).to(s.image.options());
    return {drawn[0], drawn[1]};
  }
  std::vector<at::Tensor> others;
  std::stringstream files(p.text("others", ""));
  for (std::string file; std::getline(files, file, ',');) {
    if (file.empty()) continue;
    const at::Tensor x = preprocess(read_image(file), model.preprocessing).tensor;
    if (model.logits(x).argmax(1).item<int64_t>() == s.cls) {
      throw ArgumentError("focus: the model predicts " + file +
                          " as the explained class; give images of other classes");
    }
    others.push_back(x[0].to(s.image.options()));
  }
  if (others.size() != 2) {
    throw ArgumentError(
        "focus needs two images of other classes: others=FILE,FILE, or a data set to draw them "
        "from (whitebox evaluate)");
  }
  return {others[0], others[1]};
}

void add_focus(std::vector<MetricInfo>& r) {
  r.push_back(
      {.name = "focus",
       .group = Group::Localisation,
       .summary = "share of the positive map of a mosaic (the image twice, two images of other "
                  "classes) that falls on the image's quadrants: 0.5 for a class-blind map",
       .citation = "Arias-Duart, Pares, Garcia-Gasulla & Gimenez-Abalos, Focus! Rating XAI "
                   "Methods and Finding Biases, FUZZ-IEEE 2022",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"focus", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const auto [first, second] = focus_others(s, p);
         return {{"focus", focus(class_explainer_of(s, "focus"), s.image, first, second, s.cls)}};
       },
       .parameters = {{"others", "",
                       "two image files of other classes, comma-separated, placed in the "
                       "mosaic's other quadrants (default: drawn from the data set)"}}});
}

// Robustness: the map under small changes of the input.
void add_robustness(std::vector<MetricInfo>& r) {
  r.push_back(
      {.name = "sensitivity",
       .group = Group::Robustness,
       .summary = "largest and average change of the map under uniform noise of a small radius "
                  "(relative to the map)",
       .citation =
           "Yeh, Hsieh, Suggala, Inouye & Ravikumar, On the (In)fidelity and Sensitivity of "
           "Explanations, NeurIPS 2019",
       .needs_explainer = true,
       .values = {{"max_sensitivity", false}, {"avg_sensitivity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Sensitivity r =
             sensitivity(explainer_of(s, "sensitivity"), s.image, robustness_options(p));
         return {{"max_sensitivity", r.max}, {"avg_sensitivity", r.average}};
       },
       .parameters = robustness_parameters()});
  r.push_back(
      {.name = "local-lipschitz",
       .group = Group::Robustness,
       .summary = "largest ratio of map change to input change under Gaussian noise",
       .citation =
           "Alvarez-Melis & Jaakkola, On the Robustness of Interpretability Methods, ICML Workshop "
           "2018",
       .needs_explainer = true,
       .values = {{"local_lipschitz", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"local_lipschitz", local_lipschitz(explainer_of(s, "local-lipschitz"), s.image,
                                                     robustness_options(p))}};
       },
       .parameters = robustness_parameters()});
  r.push_back(
      {.name = "continuity",
       .group = Group::Robustness,
       .summary = "largest ratio of the map's L1 change to the input's L2 change when the image "
                  "is moved sideways, a few pixels at a time",
       .citation = "Montavon, Samek & Muller, Methods for Interpreting and Understanding Deep "
                   "Neural Networks, Digital Signal Processing 2018",
       .needs_explainer = true,
       .values = {{"continuity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"continuity",
                  continuity(explainer_of(s, "continuity"), s.image, continuity_options(p))}};
       },
       .parameters = continuity_parameters()});
  r.push_back(
      {.name = "relative-stability",
       .group = Group::Robustness,
       .summary = "largest relative change of the map over the relative change of the input "
                  "(RIS), of the logits (ROS) and of the last feature map (RRS), under uniform "
                  "noise that keeps the predicted class",
       .citation = "Agarwal, Johnson, Pawelczyk, Krishna, Saxena, Zitnik & Lakkaraju, Rethinking "
                   "Stability for Attribution-based Explanations, ICLR Workshop 2022",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"ris", false}, {"ros", false}, {"rrs", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const RelativeStability r = relative_stability(model_of(s, "relative-stability"),
                                                        explainer_of(s, "relative-stability"),
                                                        s.image, stability_options(p));
         return {{"ris", r.input}, {"ros", r.output}, {"rrs", r.representation}};
       },
       .parameters = stability_parameters()});
}

// Randomisation: the map against the explanation of something else.
void add_randomisation(std::vector<MetricInfo>& r) {
  r.push_back(
      {.name = "random-logit",
       .group = Group::Randomisation,
       .summary = "SSIM between the map and the method's map for a class drawn at random: low "
                  "for a class-discriminative method",
       .citation = "Sixt, Granz & Landgraf, When Explanations Lie: Why Many Modified BP "
                   "Attributions Fail, ICML 2020",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"random_logit_ssim", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"random_logit_ssim",
                  random_logit_similarity(model_of(s, "random-logit"),
                                          class_explainer_of(s, "random-logit"), s.image, s.map,
                                          s.cls, seed_option(p, RandomisationOptions{}.seed))}};
       },
       .parameters = {randomisation_seed_parameter("random seed of the other class")}});
  r.push_back(
      {.name = "efficient-mprt",
       .group = Group::Randomisation,
       .summary = "entropy of |map| on the model with every parameter layer re-drawn over its "
                  "entropy on the trained model: above 1 when randomising the model turns the "
                  "map into noise",
       .citation = "Hedstrom, Weber, Lapuschkin & Hohne, A Fresh Look at Sanity Checks for "
                   "Saliency Maps, xAI 2024 (arXiv:2405.02383)",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"complexity_rise", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const RandomisationResult r = full_randomisation(s, "efficient-mprt", p, 0);
         return {{"complexity_rise", complexity_rise(r, r.methods.front())}};
       },
       .parameters = {randomisation_seed_parameter("random seed of the re-drawn weights")}});
  r.push_back(
      {.name = "smooth-mprt",
       .group = Group::Randomisation,
       .summary = "similarity (Spearman of |map|, SSIM) between the method's SmoothGrad-averaged "
                  "maps on the trained model and on the model with every parameter layer "
                  "re-drawn: low when the map depends on the weights",
       .citation = "Hedstrom, Weber, Lapuschkin & Hohne, A Fresh Look at Sanity Checks for "
                   "Saliency Maps, xAI 2024 (arXiv:2405.02383)",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"smooth_mprt_spearman", false}, {"smooth_mprt_ssim", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const RandomisationResult r =
             full_randomisation(s, "smooth-mprt", p, positive(p, "samples", kSmoothMprtSamples));
         const MapSimilarity& last = r.steps.back().similarity.at(r.methods.front());
         return {{"smooth_mprt_spearman", last.spearman_abs}, {"smooth_mprt_ssim", last.ssim}};
       },
       .parameters = {
           randomisation_seed_parameter("random seed of the re-drawn weights"),
           integer_parameter("samples", kSmoothMprtSamples, "noisy copies averaged per map", 1),
           number_parameter("noise", RandomisationOptions{}.smooth_noise,
                            "noise standard deviation, as a share of the input's "
                            "range",
                            0)}});
}

// Complexity: how concentrated the map is.
void add_complexity(std::vector<MetricInfo>& r) {
  r.push_back(
      {.name = "sparseness",
       .group = Group::Complexity,
       .summary = "Gini index of |map|: 0 uniform, towards 1 for a single pixel",
       .citation =
           "Chalasani, Chen, Chowdhury, Wu & Jha, Concise Explanations of Neural Networks using "
           "Adversarial Training, ICML 2020",
       .values = {{"sparseness", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"sparseness", sparseness(s.map)}};
       }});
  r.push_back({.name = "entropy",
               .group = Group::Complexity,
               .summary = "entropy of |map| as a distribution (nats): lower is more concise",
               .citation = "Bhatt, Weller & Moura, Evaluating and Aggregating Feature-based Model "
                           "Explanations, IJCAI 2020",
               .values = {{"entropy", false}},
               .run = [](const Sample& s, const Params&) -> Values {
                 return {{"entropy", entropy(s.map)}};
               }});
  r.push_back(
      {.name = "effective-complexity",
       .group = Group::Complexity,
       .summary = "share of the pixels whose |map| exceeds eps: lower is more concise",
       .citation = "Nguyen & Martinez, On quantitative aspects of model interpretability, "
                   "arXiv:2007.07584, 2020",
       .values = {{"effective_complexity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"effective_complexity",
                  effective_complexity(s.map, p.number("eps", kEffectiveComplexityEps))}};
       },
       .parameters = {number_parameter("eps", kEffectiveComplexityEps, "threshold on |map|", 0)}});
}

// Agreement with human attention maps.
void add_agreement(std::vector<MetricInfo>& r) {
  const std::string benchmark =
      "Bylinskii, Judd, Oliva, Torralba & Durand, What do different evaluation metrics tell us "
      "about saliency "
      "models?, TPAMI 2019";
  const Hyperparameter fixation_threshold =
      number_parameter("fixation_threshold", kFixationThreshold,
                       "share of the reference map's maximum that marks a fixation", 0, 1);
  r.push_back({.name = "cc",
               .group = Group::Agreement,
               .summary = "Pearson correlation with the human attention map",
               .citation = benchmark,
               .needs_reference = true,
               .values = {{"cc", true}},
               .run = [](const Sample& s, const Params&) -> Values {
                 return {{"cc", pearson(s.map, reference_of(s, "cc"))}};
               }});
  r.push_back({.name = "sim",
               .group = Group::Agreement,
               .summary = "histogram intersection of the two maps as distributions",
               .citation = benchmark,
               .needs_reference = true,
               .values = {{"sim", true}},
               .run = [](const Sample& s, const Params&) -> Values {
                 return {{"sim", similarity(s.map, reference_of(s, "sim"))}};
               }});
  r.push_back({.name = "kl",
               .group = Group::Agreement,
               .summary = "KL divergence of the map from the human attention distribution",
               .citation = benchmark,
               .needs_reference = true,
               .values = {{"kl", false}},
               .run = [](const Sample& s, const Params&) -> Values {
                 return {{"kl", kl_divergence(s.map, reference_of(s, "kl"))}};
               }});
  r.push_back(
      {.name = "nss",
       .group = Group::Agreement,
       .summary = "mean of the standardised map on the fixations (reference >= threshold x max)",
       .citation =
           "Peters, Iyer, Itti & Koch, Components of bottom-up gaze allocation in natural images, "
           "Vision Research 2005",
       .needs_reference = true,
       .values = {{"nss", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {
             {"nss", nss(s.map, fixations_of(reference_of(s, "nss"),
                                             p.number("fixation_threshold", kFixationThreshold)))}};
       },
       .parameters = {fixation_threshold}});
  r.push_back(
      {.name = "auc-judd",
       .group = Group::Agreement,
       .summary = "ROC area of the map as a detector of the fixated pixels",
       .citation =
           "Judd, Ehinger, Durand & Torralba, Learning to predict where humans look, ICCV 2009",
       .needs_reference = true,
       .values = {{"auc_judd", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"auc_judd", auc_judd(s.map, fixations_of(reference_of(s, "auc-judd"),
                                                           p.number("fixation_threshold",
                                                                    kFixationThreshold)))}};
       },
       .parameters = {fixation_threshold}});
}

// The predicted class of the sample's image.
int64_t prediction_of(const Sample& s, const std::string& metric) {
  return model_of(s, metric).logits(s.image.unsqueeze(0)).argmax(1).item<int64_t>();
}

// The data-set step of sufficiency and consistency: each image observed as its predicted class
// and its map's profile; `local` gives every image's value from the profiles [N, D] and the
// predictions.
using LocalShares = std::function<std::vector<double>(
    const at::Tensor& profiles, const std::vector<int64_t>& predictions, const Params&)>;
DatasetStep profile_shares(const std::string& name, const LocalShares& local) {
  return {.observe =
              [name](const Sample& s, const Params& p) {
                std::vector<double> o{static_cast<double>(prediction_of(s, name))};
                const at::Tensor profile = grid_profile(s.map, positive(p, "grid", kProfileGrid));
                o.insert(o.end(), profile.data_ptr<double>(),
                         profile.data_ptr<double>() + profile.numel());
                return o;
              },
          .combine =
              [name, local](const std::vector<std::vector<double>>& observations, const Params& p) {
                std::vector<int64_t> predictions;
                std::vector<at::Tensor> rows;
                for (const auto& o : observations) {
                  if (o.size() < 2 || o.size() != observations[0].size())
                    throw InputError(name + ": the images' observations differ in length");
                  predictions.push_back(static_cast<int64_t>(o[0]));
                  rows.push_back(detail::to_tensor(std::vector<double>(o.begin() + 1, o.end())));
                }
                DatasetValues values;
                if (rows.empty()) return values;
                for (double v : local(at::stack(rows), predictions, p))
                  values.per_image.push_back({{name, v}});
                return values;
              }};
}

// Models named by path, each loaded once per process on the device and in the type of `like`:
// a data-set run explains every image with the same ones.
const Model& loaded_model(const std::string& path, const Model& like) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<const Model>> models;
  const std::string key = path + "|" + c10::str(like.device()) + "|" + c10::str(like.dtype());
  const std::lock_guard<std::mutex> lock(mutex);
  auto& model = models[key];
  if (!model)
    model = std::make_unique<const Model>(Model::load(path).to(like.device()).to(like.dtype()));
  return *model;
}

// MeGe's observations of one image: (1 for an agreeing pair, 0 for a disagreeing one, distance)
// for every pair of the sample's model and the `models` files.
std::vector<double> model_pairs(const Sample& s, const Params& p) {
  const Model& own = model_of(s, "mege");
  std::vector<const Model*> models{&own};
  std::stringstream files(p.text("models", ""));
  for (std::string file; std::getline(files, file, ',');) {
    if (!file.empty()) models.push_back(&loaded_model(file, own));
  }
  if (models.size() < 2) {
    throw ArgumentError("mege needs other models trained on other data: models=FILE[,FILE...]");
  }
  const at::Tensor x = s.image.unsqueeze(0);
  std::vector<at::Tensor> maps;
  std::vector<bool> right;
  int64_t classes = 0;
  for (const Model* model : models) {
    const at::Tensor logits = model->logits(x);
    if (model == &own) classes = logits.size(1);
    if (logits.size(1) != classes) {
      throw ArgumentError("mege: the models must have the explained model's " +
                          std::to_string(classes) + " classes, not " +
                          std::to_string(logits.size(1)));
    }
    right.push_back(logits.argmax(1).item<int64_t>() == s.cls);
    maps.push_back(model == &own ? s.map : explainer_on(*model, s, "mege")(x, s.cls)[0]);
  }
  std::vector<double> pairs;
  for (size_t i = 0; i < models.size(); ++i) {
    for (size_t j = i + 1; j < models.size(); ++j) {
      if (!right[i] && !right[j]) continue;
      pairs.push_back(right[i] && right[j] ? 1.0 : 0.0);
      pairs.push_back(spearman_distance(maps[i], maps[j]));
    }
  }
  return pairs;
}

// Metrics over the data set: explanations compared across images, or across models.
void add_dataset(std::vector<MetricInfo>& r) {
  const Declared grid{integer_parameter(
      "grid", kProfileGrid, "the map is compared as its |map| averaged over grid x grid cells", 1)};
  r.push_back(
      {.name = "sufficiency",
       .group = Group::Faithfulness,
       .summary = "over the data set: the share of the images whose explanation is close to this "
                  "image's (normalised standardised distance <= threshold) that the model "
                  "predicts as this image",
       .citation = "Dasgupta, Frost & Moshkovitz, Framework for Evaluating Faithfulness of Local "
                   "Explanations, ICML 2022",
       .needs_model = true,
       .values = {{"sufficiency", true}},
       .parameters = grid + Declared{number_parameter(
                                "threshold", kSufficiencyThreshold,
                                "largest distance (share of the largest one) at which one "
                                "image's explanation applies to another",
                                0, 1)},
       .dataset = profile_shares("sufficiency", [](const auto& profiles, const auto& predictions,
                                                   const Params& p) {
         return sufficiency(profiles, predictions, p.number("threshold", kSufficiencyThreshold));
       })});
  r.push_back(
      {.name = "consistency",
       .group = Group::Robustness,
       .summary = "over the data set: the share of the images with the same explanation (the "
                  "same top cells of the map) that the model predicts as this image",
       .citation = "Dasgupta, Frost & Moshkovitz, Framework for Evaluating Faithfulness of Local "
                   "Explanations, ICML 2022",
       .needs_model = true,
       .values = {{"consistency", true}},
       .parameters =
           grid + Declared{integer_parameter("top", kConsistencyTop,
                                             "cells that make an explanation (as a set)", 1)},
       .dataset = profile_shares(
           "consistency", [](const auto& profiles, const auto& predictions, const Params& p) {
             return consistency(profiles, predictions, positive(p, "top", kConsistencyTop));
           })});
  r.push_back(
      {.name = "mege",
       .group = Group::Robustness,
       .summary = "over the data set: how alike the maps of models trained on other data are "
                  "where they agree (MeGe), and how well that likeness tells agreeing models from "
                  "disagreeing ones (ReCo)",
       .citation = "Fel, Vigouroux, Cadene & Serre, How Good is your Explanation? Algorithmic "
                   "Stability Measures to Assess the Quality of Explanations for Deep Neural "
                   "Networks, WACV 2022",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"mege", true}, {"reco", true}},
       .parameters = {{"models", "",
                       "ONNX files of the same network trained on other data (other folds), "
                       "comma-separated; the explained model is one of the set"}},
       .dataset = {
           .observe = model_pairs,
           .combine = [](const std::vector<std::vector<double>>& observations, const Params&) {
             std::vector<double> agreeing, disagreeing;
             for (const auto& o : observations) {
               for (size_t k = 0; k + 1 < o.size(); k += 2)
                 (o[k] != 0 ? agreeing : disagreeing).push_back(o[k + 1]);
             }
             const Generalisation g = generalisation(agreeing, disagreeing);
             DatasetValues values;
             values.per_image.resize(observations.size());
             values.overall = {{"mege", g.mege}, {"reco", g.reco}};
             return values;
           }}});
}

std::vector<MetricInfo> build() {
  std::vector<MetricInfo> r;
  add_faithfulness(r);
  add_axiomatic(r);
  add_localisation(r);
  add_focus(r);
  add_robustness(r);
  add_dataset(r);
  add_randomisation(r);
  add_complexity(r);
  add_agreement(r);
  return r;
}

}  // namespace

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
  static const std::vector<MetricInfo> metrics = build();
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

DatasetValues evaluate_dataset(const MetricInfo& metric, const std::vector<Sample>& samples,
                               const Params& params) {
  if (!metric.over_dataset()) throw ArgumentError(metric.name + " is not a metric over a data set");
  std::vector<std::vector<double>> observations;
  for (const Sample& s : samples) observations.push_back(metric.dataset.observe(s, params));
  return metric.dataset.combine(observations, params);
}

void check_parameters(const std::vector<std::string>& metrics, const Params& params) {
  std::vector<explainers::Declared> chosen, everyone;
  for (const auto& name : metrics) chosen.push_back({name, find_metric(name).parameters});
  for (const auto& m : registry()) everyone.push_back({m.name, m.parameters});
  explainers::check_declared(chosen, everyone, params);
}

}  // namespace whitebox::metrics
