#pragma once
// A loaded, canonicalized model and the two engine primitives: the forward trace and the reverse
// sweep. Everything runs on ATen tensors on the model's device and in its floating-point type.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "whitebox/graph.hpp"
#include "whitebox/preprocess.hpp"
#include "whitebox/rules.hpp"
#include "whitebox/trace.hpp"

namespace whitebox {

namespace ops {
class Program;  // the graph bound to its kernels (src/ops/program.hpp), internal to the library
}

struct LoadOptions {
  bool canonicalize = true;             // fold constants, drop Identity/Dropout, fold BatchNorm
  c10::ScalarType dtype = c10::kFloat;  // floating type of the weights and the computation
};

class Model {
 public:
  // Imports an ONNX file; reads `<file>.json` beside it for preprocessing and labels if present.
  // Throws FileError, ModelFormatError, UnsupportedOperator.
  static Model load(const std::filesystem::path& onnx_file, const LoadOptions& options = {});
  // Builds a model from an already constructed graph (kernels are built here).
  static Model from_graph(Graph graph);
  // A model that runs `graph`, an edited copy of this model's graph (new constants, an inserted
  // node), with this model's preprocessing and labels.
  Model with_graph(Graph graph) const;

  const Graph& graph() const;
  // The graph with the kernel of each node, as the engine runs it: for the library's own code.
  const ops::Program& program() const { return *program_; }
  const std::filesystem::path& path() const { return path_; }

  // A copy whose constants live on `device` / are of floating type `dtype` (kFloat, kDouble).
  // A model loaded from a file is re-imported for a new dtype, so that folded weights are
  // computed in that precision.
  Model to(c10::Device device) const;
  Model to(c10::ScalarType dtype) const;
  c10::Device device() const;
  c10::ScalarType dtype() const;

  // Declared input shape [N, C, H, W] (N as exported, usually 1).
  std::vector<int64_t> input_shape() const;
  ValueId input() const { return graph().inputs.at(0); }
  ValueId output() const { return graph().outputs.at(0); }
  int64_t num_classes() const;

  // Runs the graph on a batch [N, C, H, W]; throws InputError when the shape does not fit.
  Trace forward(const at::Tensor& x, const TraceOptions& options = {}) const;
  // The first output (logits) of a forward pass.
  at::Tensor logits(const at::Tensor& x) const;
  // Reruns only the nodes downstream of `value`, with `replacement` in place of trace[value]
  // (ablations, occlusions of a feature map). The replacement's batch may be m times the trace's:
  // rows are image-major (row b belongs to image b / m) and upstream values read downstream are
  // repeated to match. In the result, values not downstream of `value` are undefined unless a
  // downstream node read them. Throws InputError on a bad shape.
  Trace forward_from(const Trace& trace, ValueId value, const at::Tensor& replacement) const;

  // The gradient of S = sum_n score(output)[n] with respect to `value` and its Hessian-vector
  // product with `v`: the graph downstream of the value is rerun under autograd with trace[value]
  // as the leaf and differentiated twice (reverse over reverse), so every operator's second
  // derivative is exact. Rectifiers and max-pooling contribute none (piecewise linear); smooth
  // activations, products and a nonlinear score do. Throws ArgumentError on an untraced value or
  // a v of another shape.
  Curvature hessian_vector_product(const Trace& trace, ValueId value, const at::Tensor& v,
                                   const ScoreFunction& score) const;

  // Reverse sweep: starts from `seeds` (value, signal of the value's shape), passes signal node by
  // node with `rules` and returns the signal arriving at each value of `targets` (the graph input
  // when empty), zeros where none arrives. Parameters never receive signal.
  std::vector<at::Tensor> sweep(const Trace& trace,
                                const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                                const std::vector<ValueId>& targets = {},
                                const Rules& rules = {}) const;
  // The same on a trace nobody needs afterwards: each value is freed as soon as no node left to
  // visit reads it, as autograd frees what it saved, so that a one-shot sweep peaks lower.
  std::vector<at::Tensor> sweep(Trace&& trace,
                                const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                                const std::vector<ValueId>& targets = {},
                                const Rules& rules = {}) const;

  // Gradient of sum_i logits[i, classes[i]] with respect to `targets` (the input when empty).
  std::vector<at::Tensor> gradient(const Trace& trace, const std::vector<int64_t>& classes,
                                   const std::vector<ValueId>& targets = {}) const;
  std::vector<at::Tensor> gradient(Trace&& trace, const std::vector<int64_t>& classes,
                                   const std::vector<ValueId>& targets = {}) const;

  // A tensor made by `make` from the constant value `weight` (an LRP rule's positive weights,
  // say), kept with the model so that later calls reuse it while all kept tensors fit in the
  // size of the model's own weights. `kind` names the derivation.
  at::Tensor derived(ValueId weight, const std::string& kind,
                     const std::function<at::Tensor()>& make) const;

  // How images are turned into input tensors, and class names (empty when unknown).
  Preprocessing preprocessing;
  std::vector<std::string> labels;

 private:
  // The one-hot seed of gradient() at the logits, after checking the classes.
  at::Tensor class_seed(const Trace& trace, const std::vector<int64_t>& classes) const;

  struct DerivedCache;
  std::shared_ptr<DerivedCache> derived_;
  std::shared_ptr<const ops::Program> program_;
  std::filesystem::path path_;
  LoadOptions options_;
};

}  // namespace whitebox
