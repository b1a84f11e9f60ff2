// The reverse sweep: one traversal from the seeded values back to the targets, each node passing
// signal from its outputs to its inputs by the rule the table assigns it.
#include "engine/engine.hpp"

#include <algorithm>

#include "ops/kernel.hpp"
#include "whitebox/error.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox {

Tensors NodeContext::vjp(const Tensors& output_signal) const {
  return kernel.vjp(inputs, outputs, output_signal, wanted);
}

Rules& Rules::by_op(const std::string& op_type, Rule rule, Reads reads) {
  by_op_[op_type] = {std::move(rule), reads};
  return *this;
}

Rules& Rules::by_node(int node_index, Rule rule, Reads reads) {
  by_node_[node_index] = {std::move(rule), reads};
  return *this;
}

const Rules::Entry* Rules::entry(int node_index, const Node& node) const {
  if (auto it = by_node_.find(node_index); it != by_node_.end()) return &it->second;
  if (auto it = by_op_.find(node.op_type); it != by_op_.end()) return &it->second;
  return nullptr;
}

const Rule* Rules::find(int node_index, const Node& node) const {
  const Entry* e = entry(node_index, node);
  return e ? &e->rule : nullptr;
}

Rules& Rules::check_finite() {
  checks_finite_ = true;
  return *this;
}

std::vector<ValueId> Rules::values_read(const Graph& graph) const {
  std::vector<ValueId> values;
  const auto add = [&](const std::vector<ValueId>& read) {
    for (ValueId v : read) {
      if (v != kNoValue && !graph.values[v].is_constant()) values.push_back(v);
    }
  };
  for (int n = 0; n < static_cast<int>(graph.nodes.size()); ++n) {
    const Entry* e = entry(n, graph.nodes[n]);
    if (e && e->reads.inputs) add(graph.nodes[n].inputs);
    if (e && e->reads.outputs) add(graph.nodes[n].outputs);
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

namespace engine {
namespace {

void accumulate(at::Tensor& into, const at::Tensor& signal) {
  into = into.defined() ? into + signal : signal;
}

// Calls f(v) for every value that `node` reads or makes.
template <typename F>
void for_each_value(const Node& node, F f) {
  for (const auto* values : {&node.inputs, &node.outputs}) {
    for (ValueId v : *values) {
      if (v != kNoValue) f(v);
    }
  }
}

// Throws NumericalError when `signal`, leaving `node` toward `value`, is not finite.
void check_finite(const Graph& graph, const Node& node, ValueId value, const at::Tensor& signal,
                  const Tensors& arriving) {
  const at::Tensor finite = at::isfinite(signal);
  if (finite.all().item<bool>()) return;
  const at::Tensor bad = signal.masked_select(finite.logical_not());
  const at::Tensor good = signal.masked_select(finite);
  bool arrived_finite = true;
  double peak = 0.0;  // of the signal arriving at the node
  for (const at::Tensor& t : arriving) {
    if (!t.defined() || t.numel() == 0) continue;
    arrived_finite = arrived_finite && at::isfinite(t).all().item<bool>();
    peak = std::max(peak, t.abs().max().item<double>());
  }
  throw NumericalError(
      "", node.name,
      "the signal leaving node '" + node.name + "' (" + node.op_type + ") toward '" +
          graph.values[value].name + "' is not finite: " + std::to_string(bad.numel()) + " of " +
          std::to_string(signal.numel()) + " values, the first " + c10::str(bad[0].item<double>()) +
          ", the largest finite magnitude " +
          c10::str(good.numel() ? good.abs().max().item<double>() : 0.0) +
          (arrived_finite ? "; the signal arriving at the node peaks at " + c10::str(peak)
                          : "; the signal arriving at the node is not finite either (the "
                            "forward pass or the seed is not)"));
}

}  // namespace

std::vector<at::Tensor> sweep(const ops::Program& program, const Trace& trace,
                              const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                              const std::vector<ValueId>& targets, const Rules& rules,
                              Trace* owned) {
  at::NoGradGuard no_grad;
  const Graph& graph = program.graph();
  const size_t num_values = graph.values.size();
  // live[v]: signal arriving at v can still reach a target.
  std::vector<char> live(num_values, 0), is_target(num_values, 0);
  for (ValueId t : targets) live[t] = is_target[t] = 1;
  for (const auto& node : graph.nodes) {
    bool reaches = false;
    for (ValueId v : node.inputs) reaches = reaches || (v != kNoValue && live[v]);
    if (reaches) {
      for (ValueId v : node.outputs) live[v] = 1;
    }
  }

  std::vector<at::Tensor> signal(num_values);
  for (const auto& [value, seed] : seeds) {
    if (!seed.sizes().equals(trace[value].sizes())) {
      throw InputError("seed for '" + graph.values[value].name + "' has shape " +
                       c10::str(seed.sizes()) + ", the value has " +
                       c10::str(trace[value].sizes()));
    }
    accumulate(signal[value], seed.to(trace[value].options()));
  }

  // Owning the trace: first_reader[v] is the first node that reads or makes v; once the sweep
  // has visited it, v can go (targets stay: a target without signal takes its shape).
  std::vector<int> first_reader(owned ? num_values : 0, -1);
  if (owned) {
    for (int n = static_cast<int>(graph.nodes.size()) - 1; n >= 0; --n) {
      for_each_value(graph.nodes[n], [&](ValueId v) { first_reader[v] = n; });
    }
  }

  Tensors inputs, outputs, out_signal;
  std::vector<bool> wanted;
  // Passes the signal through node n.
  const auto visit = [&](int n) {
    const Node& node = graph.nodes[n];
    bool has_signal = false;
    for (ValueId v : node.outputs) has_signal = has_signal || signal[v].defined();
    if (!has_signal) return;

    wanted.assign(node.inputs.size(), false);
    bool any_wanted = false;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const ValueId v = node.inputs[i];
      wanted[i] = v != kNoValue && live[v] && !graph.values[v].is_constant();
      any_wanted = any_wanted || wanted[i];
    }
    out_signal.clear();
    outputs.clear();
    for (ValueId v : node.outputs) {
      out_signal.push_back(signal[v]);
      outputs.push_back(trace[v]);
      if (!is_target[v]) signal[v].reset();  // consumed: free it early
    }
    if (!any_wanted) return;
    const Tensors& saved = trace.saved(n);
    outputs.insert(outputs.end(), saved.begin(), saved.end());

    inputs.clear();
    for (ValueId v : node.inputs) inputs.push_back(v == kNoValue ? at::Tensor() : trace[v]);
    const NodeContext context{graph, n, node, program.kernel(n), inputs, outputs, wanted};
    const Rule* rule = rules.find(n, node);
    Tensors in_signal = rule ? (*rule)(context, out_signal) : context.vjp(out_signal);
    for (size_t i = 0; i < node.inputs.size() && i < in_signal.size(); ++i) {
      if (!wanted[i] || !in_signal[i].defined()) continue;
      if (rules.checks_finite()) check_finite(graph, node, node.inputs[i], in_signal[i], out_signal);
      accumulate(signal[node.inputs[i]], in_signal[i]);
    }
  };
  for (int n = static_cast<int>(graph.nodes.size()) - 1; n >= 0; --n) {
    if (interrupt_requested()) throw Interrupted("interrupted");
    visit(n);
    if (!owned) continue;
    inputs.clear();
    outputs.clear();
    out_signal.clear();
    for_each_value(graph.nodes[n], [&](ValueId v) {
      if (first_reader[v] == n && !is_target[v]) owned->release(v);
    });
    owned->release_saved(n);
  }

  std::vector<at::Tensor> result;
  for (ValueId t : targets) {
    result.push_back(signal[t].defined() ? signal[t] : at::zeros_like(trace[t]));
  }
  return result;
}

}  // namespace engine
}  // namespace whitebox
