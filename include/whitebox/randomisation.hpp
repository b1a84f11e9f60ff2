#pragma once
// Sanity checks for explanation methods (Adebayo et al., NeurIPS 2018): how an explanation changes
// when the model's parameters are re-drawn at random, layer by layer, or when a random class is
// explained instead. A method whose maps survive the randomisation does not explain the model.
// Definitions and measured results: docs/sanity.md.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "whitebox/explain.hpp"
#include "whitebox/model.hpp"
#include "whitebox/similarity.hpp"

namespace whitebox::metrics {

// A layer that owns parameters: a Conv, ConvTranspose, Gemm or MatMul node whose weight is a
// constant (a BatchNormalization folded into it is part of it).
struct ParameterLayer {
  int node = -1;                    // index into Graph::nodes
  std::string name;                 // the node's name
  std::string op_type;
  std::vector<ValueId> parameters;  // its floating-point constant inputs: weight, bias
};
// The model's parameter layers in topological order (input side first).
std::vector<ParameterLayer> parameter_layers(const Model& model);

// A copy of the model with the given constants replaced (same shapes; converted to the model's
// device and type). Throws ArgumentError for a value that is not a constant or a shape mismatch.
Model with_constants(const Model& model, const std::map<ValueId, at::Tensor>& replacements);

// A copy of the model whose parameters in `layers` are re-drawn: each tensor from a normal
// distribution truncated at two standard deviations, with the mean and standard deviation of
// the tensor's own elements, so that activations keep their scale. The draw for a layer depends
// only on `seed` and the layer, so a layer has the same random weights in every experiment.
Model randomise_layers(const Model& model, const std::vector<ParameterLayer>& layers, uint64_t seed = 0);

enum class Randomisation {
  Cascading,    // layers re-drawn cumulatively, from the output layer towards the input
  Independent,  // one layer at a time, the others as trained
};
std::string to_string(Randomisation mode);
Randomisation parse_randomisation(const std::string& name);  // "cascading", "independent"

// The methods checked when none are named (`whitebox sanity`, whitebox.sanity in Python): one
// of each family whose behaviour under randomisation the paper discusses.
inline constexpr const char* kSanityMethods = "saliency,guided-backprop,gradcam";

struct RandomisationOptions {
  Randomisation mode = Randomisation::Cascading;
  int64_t layers = 0;  // how many parameter layers, counted from the output; 0: all
  uint64_t seed = 0;
  Params params;       // the methods' hyper-parameters
  // Smooth MPRT (Hedström et al. 2023): every map the mean of the method's maps over this many
  // noisy copies of the image (SmoothGrad's draws, std smooth_noise x the input's range, the
  // same draws at every step), so that noise does not pass for a change; 0: plain maps.
  int64_t smooth_samples = 0;
  double smooth_noise = 0.1;
  // One randomised step with every chosen layer re-drawn at once (the last cascading step
  // alone: the same weights), for the one-number metrics efficient and smooth MPRT.
  bool all_at_once = false;
};

// The maps after one randomisation step, and their similarity to the trained model's maps.
struct RandomisationStep {
  std::string layer;  // the layer re-drawn at this step; empty for the trained model
  std::map<std::string, at::Tensor> maps;             // method -> [H, W] on the CPU, float64
  std::map<std::string, MapSimilarity> similarity;    // method -> against step 0
};

struct RandomisationResult {
  int64_t cls = 0;                       // the class explained throughout (the trained model's)
  std::vector<std::string> methods;      // canonical names, in the order given
  std::vector<RandomisationStep> steps;  // steps[0]: the trained model
};

// Model parameter randomisation test on one image [1, C, H, W]: the target class is resolved on
// the trained model and explained at every step. Progress, if given, is called before each step
// with its index and the total.
RandomisationResult parameter_randomisation(
    const Model& model, const at::Tensor& input, const std::vector<std::string>& methods,
    const Target& target = Target::top(), const RandomisationOptions& options = {},
    const std::function<void(size_t step, size_t total)>& progress = {});

// Efficient MPRT (Hedström et al. 2023): the complexity of the method's map after the last step
// over that of the trained model's map, complexity the entropy of |map| (metrics::entropy). Above
// 1 when randomising the model turns the map into noise, as it should for a method that
// explains the model; near 1 when the map survives the randomisation.
double complexity_rise(const RandomisationResult& result, const std::string& method);

// Random-logit test: the maps for the target class against those for another class drawn at
// random (seeded). Class-discriminative methods should give dissimilar maps.
struct RandomLogitResult {
  int64_t cls = 0, other = 0;
  std::map<std::string, at::Tensor> maps, other_maps;  // [H, W], CPU, float64
  std::map<std::string, MapSimilarity> similarity;
};
RandomLogitResult random_logit(const Model& model, const at::Tensor& input,
                               const std::vector<std::string>& methods, const Target& target = Target::top(),
                               uint64_t seed = 0, const Params& params = {});

}  // namespace whitebox::metrics
