#pragma once
// The two engine primitives over a canonicalized graph whose nodes have kernels.
#include <ATen/ATen.h>

#include <utility>
#include <vector>

#include "whitebox/model.hpp"

namespace whitebox::engine {

Trace forward(const Graph& graph, const at::Tensor& x, const TraceOptions& options = {});

// Reruns only the nodes downstream of `value`, with `replacement` in place of trace[value].
// See Model::forward_from.
Trace forward_from(const Graph& graph, const Trace& trace, ValueId value,
                   const at::Tensor& replacement);

// With `owned` (the same object as `trace`), frees each value once no node left to visit reads it.
std::vector<at::Tensor> sweep(const Graph& graph, const Trace& trace,
                              const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                              const std::vector<ValueId>& targets, const Rules& rules,
                              Trace* owned = nullptr);

}  // namespace whitebox::engine
