// The forward trace: runs the nodes in order and keeps every value for the reverse sweep.
#include "engine/engine.hpp"

#include <algorithm>

#include "ops/kernel.hpp"
#include "whitebox/error.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox::engine {

namespace {

// Runs one node's kernel; an error of ATen's (a shape that does not fit, memory that cannot be
// had) names the node it happened in.
template <typename Call>
ops::Tensors run_node(const Graph& graph, const Node& node, Call&& call) {
  const auto named = [&](const std::string& what) {
    return InputError(ops::NodeView(graph, node).label() + ": " + what);
  };
  try {
    return call();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw named(e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw named("out of memory (is the input larger than the model takes?)");
  } catch (const std::exception& e) {
    throw named(e.what());
  }
}

// What a lean trace keeps: the node after which each value can be dropped (-1: kept), and
// the nodes whose VJP a sweep may run (they keep what their kernel saves for it).
struct Keeping {
  std::vector<int> drop_after;
  std::vector<char> swept_nodes;
};

Keeping keeping(const ops::Program& program, const TraceOptions& options) {
  const Graph& graph = program.graph();
  std::vector<int> last_reader(graph.values.size(), -1);
  std::vector<char> swept_nodes(graph.nodes.size(), 0);
  std::vector<char> needed(graph.values.size(), 0);
  for (ValueId v : graph.inputs) needed[v] = 1;
  for (ValueId v : graph.outputs) needed[v] = 1;
  for (ValueId v : options.keep) needed[v] = 1;
  // swept[v]: a sweep stopping at sweep_stops passes through v.
  std::vector<char> swept(graph.values.size(), !options.sweep_stops && !options.outputs_only);
  if (options.sweep_stops) {
    for (ValueId v : *options.sweep_stops) swept[v] = 1;
  }
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    const bool in_sweep = std::any_of(node.inputs.begin(), node.inputs.end(),
                                      [&](ValueId v) { return v != kNoValue && swept[v]; });
    swept_nodes[n] = in_sweep;
    for (ValueId v : node.outputs) {
      if (v != kNoValue) swept[v] = swept[v] || in_sweep;
    }
    const ops::VjpReads reads =
        in_sweep ? program.kernel(static_cast<int>(n)).vjp_reads() : ops::VjpReads{false, false};
    for (ValueId v : node.inputs) {
      if (v == kNoValue) continue;
      last_reader[v] = static_cast<int>(n);
      needed[v] = needed[v] || reads.inputs;
    }
    for (ValueId v : node.outputs) {
      if (v != kNoValue) needed[v] = needed[v] || reads.outputs;
    }
  }
  for (size_t v = 0; v < needed.size(); ++v) {
    if (needed[v] || graph.values[v].is_constant()) last_reader[v] = -1;
  }
  return {std::move(last_reader), std::move(swept_nodes)};
}

// Which nodes a forward pass runs: all, or with options.until those its values are computed from.
std::vector<char> computed_nodes(const Graph& graph, const TraceOptions& options) {
  if (!options.until) return std::vector<char>(graph.nodes.size(), 1);
  std::vector<char> wanted(graph.values.size(), 0), computed(graph.nodes.size(), 0);
  for (ValueId v : *options.until) wanted[v] = 1;
  for (size_t n = graph.nodes.size(); n-- > 0;) {
    const Node& node = graph.nodes[n];
    computed[n] = std::any_of(node.outputs.begin(), node.outputs.end(),
                              [&](ValueId v) { return v != kNoValue && wanted[v]; });
    if (!computed[n]) continue;
    for (ValueId v : node.inputs) {
      if (v != kNoValue) wanted[v] = 1;
    }
  }
  return computed;
}

}  // namespace

Trace forward(const ops::Program& program, const at::Tensor& x, const TraceOptions& options) {
  at::NoGradGuard no_grad;
  const Graph& graph = program.graph();
  const bool drops = options.lean || options.outputs_only;
  const Keeping kept = drops ? keeping(program, options) : Keeping{};
  const std::vector<int>& drop = kept.drop_after;
  std::vector<at::Tensor> values(graph.values.size());
  std::vector<ops::Tensors> saved(graph.nodes.size());
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (graph.values[v].is_constant()) values[v] = graph.values[v].constant;
  }
  values[graph.inputs.at(0)] = x;
  // keep_last_map: the values computed since the last spatial map so far (it included), held
  // until a later map replaces it.
  std::vector<char> held(graph.values.size(), 0);
  std::vector<ValueId> since_map;
  const auto drops_now = [&](ValueId v, size_t n) {
    return v != kNoValue && !held[v] && drop[v] == static_cast<int>(n);
  };
  const std::vector<char> computed = computed_nodes(graph, options);
  ops::Tensors inputs;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (interrupt_requested()) throw Interrupted("interrupted");
    if (!computed[n]) continue;
    const Node& node = graph.nodes[n];
    const ops::Kernel& kernel = program.kernel(static_cast<int>(n));
    inputs.clear();
    for (ValueId v : node.inputs) inputs.push_back(v == kNoValue ? at::Tensor() : values[v]);
    // Input 0 dropped after this node, and no other tensor on its storage (a view, a kept
    // value, the caller's input): the kernel may reuse it for its output.
    const ValueId first = node.inputs.empty() ? kNoValue : node.inputs[0];
    bool reusable = !drop.empty() && drops_now(first, n);
    if (reusable) {
      values[first].reset();
      reusable = inputs[0].use_count() == 1 && inputs[0].storage().use_count() == 1;
    }
    ops::Tensors outputs = run_node(graph, node, [&] {
      return reusable ? kernel.forward_reusing_input(inputs) : kernel.forward(inputs);
    });
    inputs.clear();
    for (size_t o = 0; o < node.outputs.size() && o < outputs.size(); ++o) {
      values[node.outputs[o]] = std::move(outputs[o]);
    }
    if (outputs.size() > node.outputs.size() && (!drops || kept.swept_nodes[n])) {
      saved[n].assign(std::make_move_iterator(outputs.begin() + node.outputs.size()),
                      std::make_move_iterator(outputs.end()));
    }
    if (drop.empty()) continue;
    if (options.keep_last_map) {
      const bool map = std::any_of(node.outputs.begin(), node.outputs.end(), [&](ValueId v) {
        const at::Tensor& t = v != kNoValue ? values[v] : at::Tensor();
        return t.defined() && t.dim() == 4 && t.size(2) * t.size(3) > 1;
      });
      if (map) {  // the earlier map and its successors are released
        for (ValueId v : since_map) {
          held[v] = 0;
          if (drop[v] >= 0 && drop[v] < static_cast<int>(n)) values[v].reset();
        }
        since_map.clear();
      }
      if (map || !since_map.empty()) {
        for (ValueId v : node.outputs) {
          if (v == kNoValue) continue;
          held[v] = 1;
          since_map.push_back(v);
        }
      }
    }
    for (ValueId v : node.inputs) {
      if (drops_now(v, n)) values[v].reset();
    }
  }
  return Trace(std::move(values), std::move(saved));
}

Trace forward_from(const ops::Program& program, const Trace& trace, ValueId value,
                   const at::Tensor& replacement, bool differentiable) {
  at::AutoGradMode recording(differentiable);
  const Graph& graph = program.graph();
  const at::Tensor& original = trace[value];
  const int64_t batch = original.dim() > 0 ? original.size(0) : 1;
  if (replacement.dim() != original.dim() || replacement.dim() == 0 ||
      replacement.size(0) % batch != 0 ||
      !replacement.sizes().slice(1).equals(original.sizes().slice(1))) {
    throw InputError("replacement for '" + graph.values[value].name + "' has shape " +
                     c10::str(replacement.sizes()) + ", the value has " +
                     c10::str(original.sizes()) + " (the batch may be a multiple)");
  }
  // Each image's row is repeated `copies` times (image-major), so that upstream values read by
  // downstream nodes (skip connections) are repeated alike.
  const int64_t copies = replacement.size(0) / batch;
  std::vector<at::Tensor> values(graph.values.size());
  std::vector<char> dirty(graph.values.size(), 0);
  values[value] = replacement.to(original.options());
  dirty[value] = 1;
  auto upstream = [&](ValueId v) -> at::Tensor {
    if (!values[v].defined()) {
      const at::Tensor& t = trace[v];
      // Only floating batch-carrying tensors are repeated; shapes and indices are not per image.
      const bool per_image = copies > 1 && !graph.values[v].is_constant() && t.is_floating_point() &&
                             t.dim() > 0 && t.size(0) == batch;
      values[v] = per_image ? t.repeat_interleave(copies, 0) : t;
    }
    return values[v];
  };
  ops::Tensors inputs;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    bool downstream = false;
    for (ValueId v : node.inputs) downstream = downstream || (v != kNoValue && dirty[v]);
    if (!downstream) continue;
    inputs.clear();
    for (ValueId v : node.inputs) {
      inputs.push_back(v == kNoValue ? at::Tensor() : dirty[v] ? values[v] : upstream(v));
    }
    const ops::Kernel& kernel = program.kernel(static_cast<int>(n));
    ops::Tensors outputs = run_node(graph, node, [&] { return kernel.forward(inputs); });
    for (size_t o = 0; o < node.outputs.size() && o < outputs.size(); ++o) {
      values[node.outputs[o]] = std::move(outputs[o]);
      dirty[node.outputs[o]] = 1;
    }
  }
  return Trace(std::move(values));
}

}  // namespace whitebox::engine
