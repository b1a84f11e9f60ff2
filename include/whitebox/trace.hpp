#pragma once
// The values of a forward pass, what a pass keeps, and the derivatives the engine gives at a
// value: what the engine and the model's interface share.
#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "whitebox/graph.hpp"
#include "whitebox/rules.hpp"

namespace whitebox {

// The values of one forward pass over a batch, indexed by ValueId.
class Trace {
 public:
  Trace() = default;
  explicit Trace(std::vector<at::Tensor> values, std::vector<Tensors> saved = {})
      : values_(std::move(values)), saved_(std::move(saved)) {}
  const at::Tensor& operator[](ValueId id) const { return values_.at(id); }
  const std::vector<at::Tensor>& values() const { return values_; }
  // What node `node`'s kernel kept for its VJP beyond its outputs (MaxPool's argmax), if any.
  const Tensors& saved(int node) const {
    static const Tensors none;
    return static_cast<size_t>(node) < saved_.size() ? saved_[node] : none;
  }
  // Frees value `id`, or what node `node` saved: a sweep that owns the trace does so once no
  // node left to visit reads them.
  void release(ValueId id) { values_.at(id).reset(); }
  void release_saved(int node) {
    if (static_cast<size_t>(node) < saved_.size()) saved_[node].clear();
  }

 private:
  std::vector<at::Tensor> values_;
  std::vector<Tensors> saved_;  // by node
};

// What a forward pass keeps.
struct TraceOptions {
  // Keep only the values that the exact gradient sweep reads, the graph's inputs and outputs,
  // and `keep`: a convolution's output is dropped once its ReLU has run, for instance. For
  // methods that read nothing but plain gradients (and the values in `keep`); rule-based sweeps
  // (LRP, ...) need the full trace.
  bool lean = false;
  std::vector<ValueId> keep;
  // Keep only the graph's inputs and outputs and `keep` (no sweep can follow): inference.
  bool outputs_only = false;
  // With lean: the values where every reverse sweep stops, when not at the graph's inputs.
  // Only the nodes downstream of a stop keep what the sweep reads; {} keeps nothing for it.
  std::optional<std::vector<ValueId>> sweep_stops;
  // Keep the last spatial feature map ([N, C, H, W] with H * W > 1: a CAM's default layer) and
  // every value computed after it (the head), so that a sweep can stop at it.
  bool keep_last_map = false;
  // Compute only the nodes that these values are computed from: a sweep from one of them
  // down needs nothing after it (the graph's outputs are then missing from the trace).
  std::optional<std::vector<ValueId>> until;
};

// A score per image [N] computed from a model's first output [N, ...].
using ScoreFunction = std::function<at::Tensor(const at::Tensor& output)>;

// The gradient g = dS/dA of a summed score S at a value A, and the Hessian-vector product
// H v = d(g . v)/dA with a direction v of A's shape.
struct Curvature {
  at::Tensor gradient;
  at::Tensor hessian_vector;
};

}  // namespace whitebox
