#include "ops/kernel.hpp"

#include <ATen/ExpandUtils.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "whitebox/limits.hpp"

namespace whitebox::ops {

void register_all_operators();  // registry.cpp

Tensors Kernel::vjp(const Tensors& inputs, const Tensors& outputs, const Tensors& grad_outputs,
                    const std::vector<bool>& wanted) const {
  at::AutoGradMode grad_mode(true);
  Tensors leaves(inputs.size());
  std::vector<at::Tensor> sources;
  std::vector<size_t> source_index;
  for (size_t i = 0; i < inputs.size(); ++i) {
    leaves[i] = inputs[i];
    if (wanted[i] && inputs[i].defined() && at::isFloatingType(inputs[i].scalar_type())) {
      leaves[i] = inputs[i].detach().requires_grad_(true);
      sources.push_back(leaves[i]);
      source_index.push_back(i);
    }
  }
  Tensors result(inputs.size());
  if (sources.empty()) return result;
  Tensors recomputed = forward(leaves);
  std::vector<at::Tensor> roots, seeds;
  for (size_t j = 0; j < recomputed.size() && j < grad_outputs.size(); ++j) {
    if (grad_outputs[j].defined() && recomputed[j].requires_grad()) {
      roots.push_back(recomputed[j]);
      seeds.push_back(grad_outputs[j]);
    }
  }
  if (roots.empty()) return result;
  auto grads = torch::autograd::grad(roots, sources, seeds, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t k = 0; k < sources.size(); ++k) {
    result[source_index[k]] =
        grads[k].defined() ? grads[k] : at::zeros_like(inputs[source_index[k]]);
  }
  return result;
}

void Kernel::vjp_other_inputs(const Tensors& inputs, const Tensors& outputs,
                              const Tensors& grad_outputs, const std::vector<bool>& wanted,
                              Tensors& result) const {
  std::vector<bool> others = wanted;
  others[0] = false;
  if (std::none_of(others.begin(), others.end(), [](bool w) { return w; })) return;
  Tensors grads = Kernel::vjp(inputs, outputs, grad_outputs, others);
  for (size_t i = 1; i < inputs.size(); ++i) result[i] = grads[i];
}

namespace {

class LambdaKernel final : public Kernel {
 public:
  LambdaKernel(ForwardFn forward, VjpFn vjp, VjpReads reads, ForwardFn in_place)
      : forward_(std::move(forward)),
        vjp_(std::move(vjp)),
        reads_(reads),
        in_place_(std::move(in_place)) {}
  VjpReads vjp_reads() const override { return vjp_ ? reads_ : VjpReads{}; }
  Tensors forward(const Tensors& inputs) const override { return forward_(inputs); }
  Tensors forward_reusing_input(const Tensors& inputs) const override {
    return in_place_ ? in_place_(inputs) : forward_(inputs);
  }
  Tensors vjp(const Tensors& inputs, const Tensors& outputs, const Tensors& grad_outputs,
              const std::vector<bool>& wanted) const override {
    return vjp_ ? vjp_(inputs, outputs, grad_outputs, wanted)
                : Kernel::vjp(inputs, outputs, grad_outputs, wanted);
  }

 private:
  ForwardFn forward_;
  VjpFn vjp_;
  VjpReads reads_;
  ForwardFn in_place_;
};

struct Entry {
  Traits traits;
  Factory factory;
};

std::map<std::string, Entry>& entries() {
  static std::map<std::string, Entry> table;
  return table;
}

const std::map<std::string, Entry>& registry() {
  static const bool once = (register_all_operators(), true);
  (void)once;
  return entries();
}

}  // namespace

std::unique_ptr<Kernel> make_kernel(ForwardFn forward, VjpFn vjp, VjpReads reads,
                                    ForwardFn in_place) {
  return std::make_unique<LambdaKernel>(std::move(forward), std::move(vjp), reads,
                                        std::move(in_place));
}

void Registry::add(const std::string& op_type, Traits traits, Factory factory) {
  entries()[op_type] = {traits, std::move(factory)};
}

bool is_supported(const std::string& op_type) { return registry().count(op_type) > 0; }

std::vector<std::string> supported_operators() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Kernel> build(const Graph& graph, const Node& node) {
  const auto& table = registry();
  auto it = table.find(node.op_type);
  if (it == table.end()) throw UnsupportedOperator(node.op_type, node.name, graph.opset);
  return it->second.factory(NodeView(graph, node));
}

const Traits& traits(const std::string& op_type) {
  const auto& table = registry();
  auto it = table.find(op_type);
  if (it == table.end()) throw UnsupportedOperator(op_type, "", 0);
  return it->second.traits;
}

const Traits& traits(const Node& node) { return traits(node.op_type); }

std::string to_string(OpKind kind) {
  switch (kind) {
    case OpKind::Rectifier: return "rectifier";
    case OpKind::Activation: return "activation";
    case OpKind::Elementwise: return "element-wise";
    case OpKind::Sum: return "sum";
    case OpKind::Arithmetic: return "arithmetic";
    case OpKind::Linear: return "linear";
    case OpKind::Affine: return "affine";
    case OpKind::Maximum: return "maximum";
    case OpKind::Mixing: return "mixing";
    case OpKind::Reshape: return "reshape";
    case OpKind::Routing: return "routing";
    case OpKind::ShapeOnly: return "shape-only";
  }
  return "?";
}

std::string to_string(Layer layer) {
  switch (layer) {
    case Layer::None: return "none";
    case Layer::Convolution: return "convolution";
    case Layer::Dense: return "dense";
    case Layer::AveragePool: return "average pool";
    case Layer::GlobalAveragePool: return "global average pool";
    case Layer::AxisMean: return "axis mean";
    case Layer::Relu: return "relu";
    case Layer::Clip: return "clip";
    case Layer::Addition: return "addition";
    case Layer::Subtraction: return "subtraction";
    case Layer::Multiplication: return "multiplication";
    case Layer::Division: return "division";
    case Layer::BatchNormalization: return "batch normalization";
    case Layer::LayerNormalization: return "layer normalization";
  }
  return "?";
}

bool non_negative(const Graph& graph, ValueId v) {
  const int p = graph.values[v].producer;
  if (p < 0) return false;
  const Node& node = graph.nodes[p];
  switch (traits(node).range) {
    case OutputRange::Any: return false;
    case OutputRange::NonNegative:
    case OutputRange::UnitInterval: return true;
    case OutputRange::OfInput:
      return !node.inputs.empty() && node.inputs[0] != kNoValue &&
             non_negative(graph, node.inputs[0]);
    case OutputRange::OfLowerBound: {
      // The bound is an attribute before opset 11, a constant input since.
      if (auto it = node.attributes.find("min"); it != node.attributes.end()) {
        const double* lowest = std::get_if<double>(&it->second);
        return lowest && *lowest >= 0;
      }
      if (node.inputs.size() < 2 || node.inputs[1] == kNoValue) return false;
      const Value& lowest = graph.values[node.inputs[1]];
      return lowest.is_constant() && lowest.constant.numel() == 1 &&
             lowest.constant.item<double>() >= 0;
    }
  }
  return false;
}

// ---- NodeView ------------------------------------------------------------------------------

const Attribute& NodeView::attribute(const std::string& name) const {
  auto it = node_.attributes.find(name);
  if (it == node_.attributes.end()) invalid("missing attribute '" + name + "'");
  return it->second;
}

bool NodeView::has(const std::string& attribute) const {
  return node_.attributes.count(attribute) > 0;
}

int64_t NodeView::i(const std::string& name) const {
  const auto& a = attribute(name);
  if (auto p = std::get_if<int64_t>(&a)) return *p;
  invalid("attribute '" + name + "' is not an integer");
}

int64_t NodeView::i(const std::string& name, int64_t fallback) const {
  return has(name) ? i(name) : fallback;
}

double NodeView::f(const std::string& name) const {
  const auto& a = attribute(name);
  if (auto p = std::get_if<double>(&a)) return *p;
  if (auto p = std::get_if<int64_t>(&a)) return static_cast<double>(*p);
  invalid("attribute '" + name + "' is not a float");
}

double NodeView::f(const std::string& name, double fallback) const {
  return has(name) ? f(name) : fallback;
}

std::string NodeView::s(const std::string& name, const std::string& fallback) const {
  if (!has(name)) return fallback;
  if (auto p = std::get_if<std::string>(&attribute(name))) return *p;
  invalid("attribute '" + name + "' is not a string");
}

std::vector<int64_t> NodeView::ints(const std::string& name) const {
  const auto& a = attribute(name);
  if (auto p = std::get_if<std::vector<int64_t>>(&a)) return *p;
  if (auto p = std::get_if<int64_t>(&a)) return {*p};
  invalid("attribute '" + name + "' is not a list of integers");
}

std::vector<int64_t> NodeView::ints(const std::string& name, std::vector<int64_t> fallback) const {
  return has(name) ? ints(name) : fallback;
}

std::vector<double> NodeView::floats(const std::string& name, std::vector<double> fallback) const {
  if (!has(name)) return fallback;
  const auto& a = attribute(name);
  if (auto p = std::get_if<std::vector<double>>(&a)) return *p;
  if (auto p = std::get_if<double>(&a)) return {*p};
  invalid("attribute '" + name + "' is not a list of floats");
}

at::Tensor NodeView::tensor(const std::string& name) const {
  if (auto p = std::get_if<at::Tensor>(&attribute(name))) return *p;
  invalid("attribute '" + name + "' is not a tensor");
}

bool NodeView::has_input(size_t i) const {
  return i < node_.inputs.size() && node_.inputs[i] != kNoValue;
}

bool NodeView::is_constant(size_t i) const {
  return has_input(i) && graph_.values[node_.inputs[i]].is_constant();
}

const at::Tensor& NodeView::constant(size_t i) const {
  if (!is_constant(i)) {
    unsupported("input " + std::to_string(i) + " must be known at load time");
  }
  return graph_.values[node_.inputs[i]].constant;
}

std::vector<int64_t> NodeView::constant_ints(size_t i) const {
  at::Tensor t = constant(i).to(at::kCPU).to(at::kLong).contiguous();
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

double NodeView::constant_scalar(size_t i) const {
  if (constant(i).numel() != 1) invalid("input " + std::to_string(i) + " must be a scalar");
  return constant(i).to(at::kCPU).to(at::kDouble).item<double>();
}

const std::vector<int64_t>& NodeView::static_shape(size_t i) const {
  static const std::vector<int64_t> none;
  return has_input(i) ? graph_.values[node_.inputs[i]].shape : none;
}

void NodeView::unsupported(const std::string& detail) const {
  throw UnsupportedOperator(node_.op_type, node_.name, graph_.opset, detail);
}

void NodeView::invalid(const std::string& detail) const {
  throw ModelFormatError(label() + ": " + detail);
}

std::string NodeView::label() const { return "node '" + node_.name + "' (" + node_.op_type + ")"; }

void check_output_size(const std::string& node, at::IntArrayRef sizes) {
  uint64_t count = 1;
  for (const int64_t size : sizes) {
    if (size < 0) throw ModelFormatError(node + ": negative output size " + c10::str(sizes));
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(size), &count)) count = UINT64_MAX;
  }
  if (count > limits().tensor_elements) {
    throw ModelFormatError(node + ": an output of " + c10::str(sizes) + " has " +
                           std::to_string(count) + " elements, more than the " +
                           std::to_string(limits().tensor_elements) +
                           " whitebox allocates for one tensor (WHITEBOX_MAX_TENSOR_ELEMENTS)");
  }
}

// ---- helpers -------------------------------------------------------------------------------

at::Tensor unbroadcast(const at::Tensor& grad, at::IntArrayRef shape) {
  if (grad.sizes() == shape) return grad;
  return at::sum_to(grad, shape);
}

int64_t axis(int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw ModelFormatError("axis " + std::to_string(axis) + " out of range for rank " +
                           std::to_string(rank));
  }
  return a;
}

}  // namespace whitebox::ops
