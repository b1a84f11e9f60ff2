// Model parameter randomisation and random-logit tests (Adebayo et al. 2018).
#include "whitebox/randomisation.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <random>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "ops/kernel.hpp"
#include "whitebox/error.hpp"
#include "whitebox/limits.hpp"
#include "whitebox/metrics/complexity.hpp"
#include "whitebox/metrics/randomisation.hpp"

namespace whitebox::metrics {
namespace {

bool is_parameter(const Graph& graph, ValueId id) {
  return id != kNoValue && graph.values[id].is_constant() && graph.values[id].constant.is_floating_point();
}

// A normal draw truncated at two standard deviations, by redrawing the outliers.
at::Tensor truncated_normal(at::IntArrayRef shape, at::Generator& generator) {
  at::Tensor z = at::randn(shape, generator, at::kDouble);
  for (at::Tensor outside = z.abs() > 2; outside.any().item<bool>(); outside = z.abs() > 2) {
    z.masked_scatter_(outside, at::randn({outside.sum().item<int64_t>()}, generator, at::kDouble));
  }
  return z;
}

// Every (layer, seed) pair gets its own stream, so cascading and independent runs agree.
uint64_t layer_seed(uint64_t seed, int node) {
  return seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(node) + 1;
}

std::vector<std::string> canonical_names(const std::vector<std::string>& names) {
  std::vector<std::string> canonical;
  for (const auto& name : names) {
    const std::string& found = find_method(name).name;  // throws LookupError
    if (std::find(canonical.begin(), canonical.end(), found) == canonical.end()) canonical.push_back(found);
  }
  if (canonical.empty()) throw ArgumentError("a sanity check needs at least one method");
  return canonical;
}

void check_single_image(const at::Tensor& input) {
  if (!input.defined() || input.dim() != 4 || input.size(0) != 1) {
    throw InputError("a sanity check takes one image [1, C, H, W], not " +
                     (input.defined() ? c10::str(input.sizes()) : std::string("an undefined tensor")));
  }
}

// The methods' maps for image 0, on the CPU in float64.
std::map<std::string, at::Tensor> maps_of(const Model& model, const at::Tensor& input,
                                          const std::vector<std::string>& methods, int64_t cls,
                                          const Params& params) {
  std::map<std::string, at::Tensor> maps;
  for (auto& [name, explanation] : explain(model, input, methods, Target::index(cls), params)) {
    maps[name] = explanation.map[0].detach().to(at::kCPU, at::kDouble);
  }
  return maps;
}

// The same, each method wrapped in SmoothGrad (base=method) when options ask for smooth MPRT.
std::map<std::string, at::Tensor> step_maps(const Model& model, const at::Tensor& input,
                                            const std::vector<std::string>& methods, int64_t cls,
                                            const RandomisationOptions& options) {
  if (options.smooth_samples <= 0) return maps_of(model, input, methods, cls, options.params);
  std::map<std::string, at::Tensor> maps;
  for (const auto& name : methods) {
    Params smoothed = options.params;
    smoothed.set("base", name)
        .set("samples", std::to_string(options.smooth_samples))
        .set("noise", c10::str(options.smooth_noise));
    maps[name] = maps_of(model, input, {"smoothgrad"}, cls, smoothed).at("smoothgrad");
  }
  return maps;
}

}  // namespace

std::vector<ParameterLayer> parameter_layers(const Model& model) {
  const Graph& graph = model.graph();
  std::vector<ParameterLayer> layers;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    const ops::Layer kind = ops::traits(node).layer;
    if (kind != ops::Layer::Convolution && kind != ops::Layer::Dense) continue;
    ParameterLayer layer{static_cast<int>(i), node.name, node.op_type, {}};
    bool reads_signal = false;
    for (ValueId id : node.inputs) {
      if (is_parameter(graph, id)) {
        layer.parameters.push_back(id);
      } else if (id != kNoValue) {
        reads_signal = true;
      }
    }
    if (reads_signal && !layer.parameters.empty()) layers.push_back(std::move(layer));
  }
  return layers;
}

Model with_constants(const Model& model, const std::map<ValueId, at::Tensor>& replacements) {
  Graph graph = model.graph();
  for (const auto& [id, tensor] : replacements) {
    if (id < 0 || id >= static_cast<ValueId>(graph.values.size()) || !graph.values[id].is_constant()) {
      throw ArgumentError("value " + std::to_string(id) + " is not a constant of the model");
    }
    Value& value = graph.values[id];
    if (!tensor.defined() || tensor.sizes() != value.constant.sizes()) {
      throw ArgumentError("a replacement for '" + value.name + "' must have shape " +
                          c10::str(value.constant.sizes()));
    }
    value.constant = tensor.detach().to(value.constant.device(), value.constant.scalar_type()).contiguous();
  }
  return model.with_graph(std::move(graph));
}

Model randomise_layers(const Model& model, const std::vector<ParameterLayer>& layers, uint64_t seed) {
  const Graph& graph = model.graph();
  std::map<ValueId, at::Tensor> replacements;
  for (const auto& layer : layers) {
    at::Generator generator = at::detail::createCPUGenerator(layer_seed(seed, layer.node));
    for (ValueId id : layer.parameters) {
      const at::Tensor original = graph.values.at(id).constant.to(at::kCPU, at::kDouble);
      const double mean = original.mean().item<double>();
      const double spread = original.numel() > 1 ? original.std(/*unbiased=*/false).item<double>() : 0.0;
      replacements[id] = truncated_normal(original.sizes(), generator) * spread + mean;
    }
  }
  return with_constants(model, replacements);
}

std::string to_string(Randomisation mode) {
  return mode == Randomisation::Cascading ? "cascading" : "independent";
}

Randomisation parse_randomisation(const std::string& name) {
  if (name == "cascading") return Randomisation::Cascading;
  if (name == "independent") return Randomisation::Independent;
  throw LookupError("unknown randomisation '" + name + "' (valid: cascading, independent)");
}

RandomisationResult parameter_randomisation(const Model& model, const at::Tensor& input,
                                            const std::vector<std::string>& methods, const Target& target,
                                            const RandomisationOptions& options,
                                            const std::function<void(size_t, size_t)>& progress) {
  check_single_image(input);
  if (options.layers < 0) throw ArgumentError("the number of layers to randomise cannot be negative");
  if (options.smooth_samples < 0 || options.smooth_samples > kMostCount) {
    throw ArgumentError("smooth MPRT's samples must be in [0, " +
                        std::to_string(static_cast<int64_t>(kMostCount)) + "], not " +
                        std::to_string(options.smooth_samples));
  }
  if (options.seed > static_cast<uint64_t>(kMostSeed)) {
    throw ArgumentError("the randomisation seed must be at most 2^53, not " +
                        std::to_string(options.seed));
  }
  if (!(options.smooth_noise >= 0)) throw ArgumentError("smooth MPRT's noise cannot be negative");
  RandomisationResult result;
  result.methods = canonical_names(methods);
  result.cls = target.resolve(model, model.logits(input))[0];

  // Output layer first.
  std::vector<ParameterLayer> layers = parameter_layers(model);
  std::reverse(layers.begin(), layers.end());
  if (options.layers > 0 && options.layers < static_cast<int64_t>(layers.size())) layers.resize(options.layers);

  const size_t randomised_steps = options.all_at_once ? std::min<size_t>(layers.size(), 1) : layers.size();
  const size_t total = randomised_steps + 1;
  if (progress) progress(0, total);
  result.steps.push_back({"", step_maps(model, input, result.methods, result.cls, options), {}});
  RandomisationStep& trained = result.steps.front();
  for (const auto& name : result.methods) trained.similarity[name] = compare_maps(trained.maps[name], trained.maps[name]);

  for (size_t k = 0; k < randomised_steps; ++k) {
    if (progress) progress(k + 1, total);
    const std::vector<ParameterLayer> chosen =
        options.all_at_once ? layers
        : options.mode == Randomisation::Cascading
            ? std::vector<ParameterLayer>(layers.begin(), layers.begin() + static_cast<std::ptrdiff_t>(k) + 1)
            : std::vector<ParameterLayer>{layers[k]};
    const Model randomised = randomise_layers(model, chosen, options.seed);
    RandomisationStep step{
        options.all_at_once ? "all" : layers[k].name, step_maps(randomised, input, result.methods, result.cls, options), {}};
    for (const auto& name : result.methods) {
      step.similarity[name] = compare_maps(result.steps.front().maps.at(name), step.maps.at(name));
    }
    result.steps.push_back(std::move(step));
  }
  return result;
}

RandomLogitResult random_logit(const Model& model, const at::Tensor& input, const std::vector<std::string>& methods,
                               const Target& target, uint64_t seed, const Params& params) {
  check_single_image(input);
  const auto names = canonical_names(methods);
  const at::Tensor logits = model.logits(input);
  const int64_t classes = logits.size(1);
  if (classes < 2) throw ArgumentError("the random-logit test needs a model with at least two classes");
  RandomLogitResult result;
  result.cls = target.resolve(model, logits)[0];
  result.other = random_other_class(result.cls, classes, seed);
  result.maps = maps_of(model, input, names, result.cls, params);
  result.other_maps = maps_of(model, input, names, result.other, params);
  for (const auto& name : names) result.similarity[name] = compare_maps(result.maps[name], result.other_maps[name]);
  return result;
}

double complexity_rise(const RandomisationResult& result, const std::string& method) {
  if (result.steps.size() < 2) throw ArgumentError("the complexity rise needs a randomised step");
  const double before = entropy(result.steps.front().maps.at(method));
  return before > 0 ? entropy(result.steps.back().maps.at(method)) / before : 0.0;
}

int64_t random_other_class(int64_t cls, int64_t classes, uint64_t seed) {
  if (classes < 2)
    throw ArgumentError("the random-logit test needs a model with at least two classes");
  if (cls < 0 || cls >= classes)
    throw ArgumentError("class " + std::to_string(cls) + " is out of range for " +
                        std::to_string(classes) + " classes");
  std::mt19937_64 random(seed);
  const int64_t draw = std::uniform_int_distribution<int64_t>(0, classes - 2)(random);
  return draw >= cls ? draw + 1 : draw;
}

double random_logit_similarity(const Model& model, const ClassExplainer& explainer,
                               const at::Tensor& image, const at::Tensor& map, int64_t cls,
                               uint64_t seed) {
  detail::check_image_and_map(image, map, "random logit");
  const at::Tensor x = detail::as_model_input(model, image).unsqueeze(0);
  const int64_t classes = model.logits(x).reshape({1, -1}).size(1);
  const at::Tensor other_map = explainer(x, random_other_class(cls, classes, seed));
  return ssim(map.to(at::kDouble), other_map[0].to(map.device(), at::kDouble));
}

namespace detail {
namespace {

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

// The randomisation metrics draw from the sanity checks' default seed.
Hyperparameter randomisation_seed_parameter(std::string meaning) {
  return integer_parameter("seed", RandomisationOptions{}.seed, std::move(meaning), 0, kMostSeed);
}

// Smooth MPRT's noisy copies per map (RandomisationOptions' 0 means plain maps).
constexpr int64_t kSmoothMprtSamples = 10;

}  // namespace

void add_randomisation_metrics(std::vector<MetricInfo>& registry) {
  registry.push_back(
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
  registry.push_back(
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
  registry.push_back(
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

}  // namespace detail

}  // namespace whitebox::metrics
