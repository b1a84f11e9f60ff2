#pragma once
// The two engine primitives over a canonicalized graph bound to its kernels (ops::Program).
#include <ATen/ATen.h>

#include <utility>
#include <vector>

#include "ops/program.hpp"
#include "whitebox/graph.hpp"
#include "whitebox/rules.hpp"
#include "whitebox/trace.hpp"

namespace whitebox::engine {

Trace forward(const ops::Program& program, const at::Tensor& x, const TraceOptions& options = {});

// Reruns only the nodes downstream of `value`, with `replacement` in place of trace[value].
// See Model::forward_from. With `differentiable`, autograd records the rerun (the kernels'
// forwards are plain ATen calls), so that it can be differentiated with respect to the
// replacement, twice if need be.
Trace forward_from(const ops::Program& program, const Trace& trace, ValueId value,
                   const at::Tensor& replacement, bool differentiable = false);

// The gradient of a score at `value` and its Hessian-vector product. See
// Model::hessian_vector_product.
Curvature hessian_vector_product(const ops::Program& program, const Trace& trace, ValueId value,
                                 const at::Tensor& v, const ScoreFunction& score);

// With `owned` (the same object as `trace`), frees each value once no node left to visit reads it.
std::vector<at::Tensor> sweep(const ops::Program& program, const Trace& trace,
                              const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                              const std::vector<ValueId>& targets, const Rules& rules,
                              Trace* owned = nullptr);

}  // namespace whitebox::engine
