// Fitting the signal patterns: streaming statistics of every pattern layer's inputs and outputs,
// then the linear or two-component estimator (Kindermans et al. 2018, section 4).
//
// A unit k of a layer y = s W x + b sees samples (x, y_k): a Gemm row, or for a Conv each
// position of each image with its input patch. The patch sums never unfold the input: for a
// per-position weight g on y, sum_n g_n x_n is the VJP of the layer with respect to its weight
// (divided by s), computed by ATen with the layer's own geometry (padding, stride, groups,
// dilation).
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cctype>

#include "methods/patterns_layers.hpp"
#include "ops/kernel.hpp"
#include "ops/program.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/patterns.hpp"

namespace whitebox {

using explainers::patterns::along;
using explainers::patterns::PatternLayer;
using explainers::patterns::sum_except;

std::string to_string(PatternEstimator estimator) {
  return estimator == PatternEstimator::Linear ? "linear" : "twocomponent";
}

PatternEstimator parse_estimator(const std::string& text) {
  if (text == "linear") return PatternEstimator::Linear;
  if (text == "twocomponent" || text == "two-component") return PatternEstimator::TwoComponent;
  throw ArgumentError("unknown pattern estimator '" + text + "' (valid: linear, twocomponent)");
}

namespace {

// Sums over the samples of one layer, float64, on the model's device; the two-component
// estimator also sums over the positive regime y_k > 0 (the negative one is the difference).
struct Sums {
  at::Tensor count, count_pos;  // [K] samples, samples with y_k > 0
  at::Tensor y;                 // [K] sum of y over all samples
  at::Tensor x, x_pos;          // W-shaped: sums of x
  at::Tensor xy, xy_pos;        // W-shaped: sums of x y
};

// (E_r[x y] - E_r[x] E[y]) / w^T(...) per unit, over the regime r of sums x, xy and n samples.
at::Tensor estimate(const at::Tensor& x, const at::Tensor& xy, const at::Tensor& n,
                    const at::Tensor& mean_y, const at::Tensor& w, int64_t axis) {
  const int64_t rank = w.dim();
  // A unit with no sample in the regime has no statistics: zero.
  const at::Tensor count = along(n.clamp_min(1.0), axis, rank);
  const at::Tensor numerator = xy / count - x / count * along(mean_y, axis, rank);
  // The denominator w^T(...) makes w^T a = 1: the estimated signal a y reproduces y. Where it
  // vanishes (a unit whose output never varies) the pattern is zero.
  const at::Tensor denominator = sum_except(w * numerator, axis);
  const at::Tensor scale = sum_except((w * numerator).abs(), axis);
  const at::Tensor defined = denominator.abs() > 1e-12 * scale;
  const at::Tensor safe = at::where(defined, denominator, at::ones_like(denominator));
  return numerator / along(safe, axis, rank) * along(defined.to(at::kDouble), axis, rank);
}

void accumulate(at::Tensor& total, const at::Tensor& part) {
  if (total.defined())
    total.add_(part);
  else
    total = part.clone();
}

}  // namespace

struct PatternFitter::State {
  Model model;
  PatternOptions options;
  std::vector<PatternLayer> layers;
  std::vector<Sums> sums;
  TraceOptions trace;
  int64_t images = 0;
};

PatternFitter::PatternFitter(const Model& model, const PatternOptions& options)
    : state_(std::make_unique<State>(State{model, options, {}, {}, {}, 0})) {
  state_->layers = explainers::patterns::pattern_layers(model);
  if (state_->layers.empty()) {
    throw InputError(
        "the model has no linear layer with a constant weight (Conv, Gemm, MatMul): "
        "nothing to fit patterns for");
  }
  state_->sums.resize(state_->layers.size());
  // A lean trace that keeps what the statistics read: each layer's input and output.
  state_->trace.lean = true;
  for (const PatternLayer& layer : state_->layers) {
    const Node& node = model.graph().nodes[layer.node];
    state_->trace.keep.push_back(node.inputs[layer.data]);
    state_->trace.keep.push_back(node.outputs[0]);
  }
}

PatternFitter::~PatternFitter() = default;
PatternFitter::PatternFitter(PatternFitter&&) noexcept = default;
PatternFitter& PatternFitter::operator=(PatternFitter&&) noexcept = default;

int64_t PatternFitter::images() const { return state_->images; }

void PatternFitter::add(const at::Tensor& batch) {
  State& s = *state_;
  const Graph& graph = s.model.graph();
  const at::Tensor x = batch.to(s.model.device(), s.model.dtype());
  const Trace trace = s.model.forward(x, s.trace);
  const bool two = s.options.estimator == PatternEstimator::TwoComponent;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const PatternLayer& layer = s.layers[i];
    const Node& node = graph.nodes[layer.node];
    const at::Tensor& y = trace[node.outputs[0]];
    // The layer rerun once under autograd with its weight as the leaf; each sum over samples of
    // g * x (W-shaped) is then one backward pass through that graph.
    at::AutoGradMode grad_mode(true);
    Tensors inputs;
    for (ValueId v : node.inputs) inputs.push_back(v == kNoValue ? at::Tensor() : trace[v]);
    const at::Tensor weight = inputs[layer.weight].detach().requires_grad_(true);
    inputs[layer.weight] = weight;
    const at::Tensor rerun = s.model.program().kernel(layer.node).forward(inputs)[0];
    const auto weighted_x = [&](const at::Tensor& g, bool last) {
      const at::Tensor sum =
          torch::autograd::grad({rerun}, {weight}, {g}, /*retain_graph=*/!last)[0];
      return (layer.scale == 1.0 ? sum : sum / layer.scale).to(at::kDouble);
    };
    Sums& sums = s.sums[i];
    accumulate(sums.x, weighted_x(at::ones_like(y), false));
    accumulate(sums.xy, weighted_x(y, !two));
    if (two) {
      const at::Tensor positive = (y > 0).to(y.scalar_type());
      accumulate(sums.x_pos, weighted_x(positive, false));
      accumulate(sums.xy_pos, weighted_x(y * positive, true));
      accumulate(sums.count_pos, sum_except(positive.to(at::kDouble), layer.output_axis));
    }
    const int64_t units =
        y.size(layer.output_axis < 0 ? layer.output_axis + y.dim() : layer.output_axis);
    accumulate(sums.count, at::full({units}, static_cast<double>(y.numel() / units),
                                    y.options().dtype(at::kDouble)));
    accumulate(sums.y, sum_except(y.to(at::kDouble), layer.output_axis));
  }
  s.images += x.size(0);
}

Patterns PatternFitter::patterns() const {
  const State& s = *state_;
  if (s.images == 0) throw InputError("no images to fit patterns on");
  const Graph& graph = s.model.graph();
  Patterns result;
  result.estimator = s.options.estimator;
  result.images = s.images;
  result.model = fingerprint(s.model);
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const PatternLayer& layer = s.layers[i];
    const Node& node = graph.nodes[layer.node];
    const Sums& sums = s.sums[i];
    const at::Tensor w =
        graph.values[node.inputs[layer.weight]].constant.to(at::kDouble) * layer.scale;
    const int64_t axis = layer.weight_axis;
    // E[y] is over all samples in both estimators: the covariance split by regime,
    // cov[x, y] = pi+ (E+[x y] - E+[x] E[y]) + (1 - pi+) (E-[x y] - E-[x] E[y]).
    const at::Tensor mean_y = sums.y / sums.count;
    if (s.options.estimator == PatternEstimator::Linear) {
      result.by_node[node.name] = estimate(sums.x, sums.xy, sums.count, mean_y, w, axis).cpu();
      continue;
    }
    result.by_node[node.name] =
        estimate(sums.x_pos, sums.xy_pos, sums.count_pos, mean_y, w, axis).cpu();
    result.negative[node.name] = estimate(sums.x - sums.x_pos, sums.xy - sums.xy_pos,
                                          sums.count - sums.count_pos, mean_y, w, axis)
                                     .cpu();
  }
  return result;
}

Patterns fit_patterns(const Model& model, const std::vector<at::Tensor>& batches,
                      const PatternOptions& options) {
  PatternFitter fitter(model, options);
  for (const at::Tensor& batch : batches) fitter.add(batch);
  return fitter.patterns();
}

Patterns fit_patterns(const Model& model, const std::filesystem::path& images_folder,
                      const PatternOptions& options) {
  std::vector<std::filesystem::path> files = image_files(images_folder);
  if (options.limit > 0 && static_cast<int64_t>(files.size()) > options.limit)
    files.resize(options.limit);
  PatternFitter fitter(model, options);
  const size_t batch = static_cast<size_t>(std::max<int64_t>(options.batch, 1));
  for (size_t start = 0; start < files.size(); start += batch) {
    std::vector<at::Tensor> rows;
    for (size_t i = start; i < std::min(files.size(), start + batch); ++i) {
      rows.push_back(preprocess(read_image(files[i]), model.preprocessing).tensor);
    }
    fitter.add(at::cat(rows));
  }
  return fitter.patterns();
}

}  // namespace whitebox
