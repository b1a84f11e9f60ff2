#pragma once
// The operator kernels: one Kernel per graph node, built once after canonicalization from the
// node's attributes and constant inputs, then run by the forward trace and the reverse sweep.
#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "whitebox/error.hpp"
#include "whitebox/graph.hpp"

namespace whitebox::ops {

using Tensors = std::vector<at::Tensor>;

// A node that is linear in one input, y = W x + b, with W (and b) constant: the geometry that
// relevance rules (LRP) need to rerun the layer with modified weights.
class LinearForm {
 public:
  virtual ~LinearForm() = default;
  // Which node inputs play x, W and b (-1: W implicit, as in pooling; b absent).
  virtual int data_input() const { return 0; }
  virtual int weight_input() const { return -1; }
  virtual int bias_input() const { return -1; }
  // W' x + b' for a weight W' of W's shape (undefined: the implicit weight), b' may be undefined.
  virtual at::Tensor apply(const at::Tensor& x, const at::Tensor& weight,
                           const at::Tensor& bias) const = 0;
  // The bias term that apply() adds to W' x, broadcastable to an output of `output_dim` dims.
  virtual at::Tensor bias_term(const at::Tensor& bias, int64_t /*output_dim*/) const { return bias; }
  // Where the layer's output units are, for methods that estimate one quantity per unit
  // (PatternNet): the axis of W that indexes them, the axis of y that holds them (negative: from
  // the end), and the factor apply() multiplies W x by. None where W has no unit structure
  // (pooling's implicit weight, a batched MatMul).
  struct Units {
    int64_t weight_axis;
    int64_t output_axis;
    double scale = 1.0;
  };
  virtual std::optional<Units> units() const { return std::nullopt; }
  // W'^T signal, shaped like x (x only gives the shape).
  virtual at::Tensor apply_transpose(const at::Tensor& signal, const at::Tensor& x,
                                     const at::Tensor& weight) const = 0;
  // apply_transpose() for `ones`, a weight of W's shape that is all ones (the flat rule). Forms
  // whose every output reads every input channel override it with a cheaper pass.
  virtual at::Tensor apply_transpose_ones(const at::Tensor& signal, const at::Tensor& x,
                                          const at::Tensor& ones) const {
    return apply_transpose(signal, x, ones);
  }
};

// Which forward values a kernel's exact VJP reads. A lean trace keeps only values that some
// VJP reads (or that a caller asks for).
struct VjpReads {
  bool inputs = true;
  bool outputs = true;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // The node's outputs, possibly followed by tensors that its VJP reads and that cost nothing to
  // keep here (MaxPool's argmax): a trace keeps them and hands them to vjp() after the outputs.
  virtual Tensors forward(const Tensors& inputs) const = 0;
  // The exact vector-Jacobian product: for each input i with wanted[i], the signal
  // sum_j grad_outputs[j] * d outputs[j] / d inputs[i]; undefined tensors elsewhere.
  // grad_outputs[j] may be undefined (no signal on that output). `outputs` may carry what
  // forward() kept after the node's outputs, or not (a caller's own recomputation). The default
  // recomputes the forward under autograd; kernels on the hot path override it with closed forms.
  virtual Tensors vjp(const Tensors& inputs, const Tensors& outputs, const Tensors& grad_outputs,
                      const std::vector<bool>& wanted) const;
  // The node's linear form when it is a linear layer with constant weights (Conv, Gemm, MatMul,
  // average pooling), else null. MaxPool / GlobalMaxPool return their window sums instead: the
  // linear stand-in of proportional relevance rules.
  virtual const LinearForm* linear() const { return nullptr; }
  virtual VjpReads vjp_reads() const { return {}; }
  // forward() for a caller that hands over input 0 and keeps no other reference to its storage
  // (inference and lean traces drop it right after): element-wise kernels may write their output
  // into it instead of allocating. The default allocates as forward() does.
  virtual Tensors forward_reusing_input(const Tensors& inputs) const { return forward(inputs); }

 protected:
  // For kernels whose closed form covers input 0 only: fills the other wanted entries of
  // `result` (a non-constant weight, computed statistics: rare) through the autograd VJP.
  void vjp_other_inputs(const Tensors& inputs, const Tensors& outputs, const Tensors& grad_outputs,
                        const std::vector<bool>& wanted, Tensors& result) const;
};

// A kernel made of two functions, for operators whose attributes fit in a lambda capture.
using ForwardFn = std::function<Tensors(const Tensors& inputs)>;
using VjpFn = std::function<Tensors(const Tensors& inputs, const Tensors& outputs,
                                    const Tensors& grad_outputs, const std::vector<bool>& wanted)>;
// `in_place`, if given, is forward_reusing_input().
std::unique_ptr<Kernel> make_kernel(ForwardFn forward, VjpFn vjp = nullptr, VjpReads reads = {},
                                    ForwardFn in_place = nullptr);

// What a kernel factory may read of its node at build time.
class NodeView {
 public:
  NodeView(const Graph& graph, const Node& node) : graph_(graph), node_(node) {}
  const Node& node() const { return node_; }
  const Graph& graph() const { return graph_; }
  int64_t opset() const { return graph_.opset; }

  bool has(const std::string& attribute) const;
  int64_t i(const std::string& attribute) const;
  int64_t i(const std::string& attribute, int64_t fallback) const;
  double f(const std::string& attribute) const;
  double f(const std::string& attribute, double fallback) const;
  std::string s(const std::string& attribute, const std::string& fallback) const;
  std::vector<int64_t> ints(const std::string& attribute) const;
  std::vector<int64_t> ints(const std::string& attribute, std::vector<int64_t> fallback) const;
  std::vector<double> floats(const std::string& attribute, std::vector<double> fallback) const;
  at::Tensor tensor(const std::string& attribute) const;

  size_t num_inputs() const { return node_.inputs.size(); }
  // Input i exists (not omitted).
  bool has_input(size_t i) const;
  // Input i is known at load time.
  bool is_constant(size_t i) const;
  const at::Tensor& constant(size_t i) const;  // throws unless is_constant(i)
  std::vector<int64_t> constant_ints(size_t i) const;
  double constant_scalar(size_t i) const;
  const std::vector<int64_t>& static_shape(size_t i) const;  // may be empty

  [[noreturn]] void unsupported(const std::string& detail) const;
  [[noreturn]] void invalid(const std::string& detail) const;
  // "node 'name' (OpType)", for errors thrown after the kernel is built.
  std::string label() const;

 private:
  const Attribute& attribute(const std::string& name) const;
  const Graph& graph_;
  const Node& node_;
};

using Factory = std::function<std::unique_ptr<Kernel>(const NodeView&)>;

// What an operator is to the explanation methods, declared where its kernel is registered: the
// methods' rules ask this (and the kernel's linear form), never the operator's name, and switch
// over every kind, so a new operator is classified by every method once it has its kind.
enum class OpKind {
  Rectifier,    // max(x, lo) (Relu, Clip): what guided backprop and deconvnet modify
  Activation,   // another element-wise activation of one input (Sigmoid, LeakyRelu, ...)
  Elementwise,  // another element-wise function of one input (Exp, Abs, Neg, ...)
  Sum,          // sums and differences of its inputs (Add, Sub, Sum, Mean)
  Arithmetic,   // another element-wise function of several inputs (Mul, Div, Pow, Max, Min)
  Linear,       // linear in its data input (Conv, Gemm, MatMul, average pools, ReduceSum /
                // ReduceMean); linear() gives its form when the weights are constants
  Affine,       // per-channel scale and shift by constant statistics (BatchNormalization)
  Maximum,      // the largest element of each window or axis (MaxPool, ReduceMax)
  Mixing,       // another non-linear map mixing elements (Softmax, LRN, LayerNormalization,
                // ReduceMin, ReduceL2)
  Reshape,      // the same values in another shape or type (Reshape, Flatten, Identity)
  Routing,      // moves, copies or drops elements without arithmetic (Concat, Slice, Pad)
  ShapeOnly,    // computes shapes or constants from shapes: carries no signal (Shape, Size)
};
std::string to_string(OpKind kind);

// The range of a node's output, as far as the operator alone decides it.
enum class OutputRange {
  Any,
  NonNegative,   // Relu, Exp, Abs, Softplus, ...
  UnitInterval,  // [0, 1]: gates (Sigmoid, HardSigmoid) and Softmax
  OfInput,       // non-negative when input 0 is (pooling, reshapes)
  OfLowerBound,  // non-negative when its lower bound (Clip's min) is at least 0
};

// What an operator is, where a method needs more than its kind: the layers LRP's composites
// give rules to, the pooling of a CAM head, the rules that read an operator's own attributes.
// Declared with the kernel, so that no method compares operator names.
enum class Layer {
  None,
  Convolution,         // Conv
  Dense,               // Gemm, MatMul
  AveragePool,         // AveragePool
  GlobalAveragePool,   // GlobalAveragePool
  AxisMean,            // ReduceMean
  Relu,                // Relu
  Clip,                // Clip
  Addition,            // Add, Sum
  Subtraction,         // Sub
  Multiplication,      // Mul
  Division,            // Div
  BatchNormalization,  // BatchNormalization
  LayerNormalization,  // LayerNormalization
};
std::string to_string(Layer layer);

struct Traits {
  OpKind kind;
  OutputRange range = OutputRange::Any;
  Layer layer = Layer::None;
};

// Op type -> factory and traits. The operator families register themselves in registry.cpp.
bool is_supported(const std::string& op_type);
std::vector<std::string> supported_operators();
std::unique_ptr<Kernel> build(const Graph& graph, const Node& node);
// Throws UnsupportedOperator for an operator without a kernel.
const Traits& traits(const Node& node);
const Traits& traits(const std::string& op_type);
// Whether value v is >= 0 by construction, from the traits of the nodes producing it.
bool non_negative(const Graph& graph, ValueId v);

class Registry {
 public:
  void add(const std::string& op_type, Traits traits, Factory factory);
};

// Small shared helpers for kernels.
// Throws ModelFormatError naming `node` (NodeView::label) when a tensor of `sizes` has a negative
// size or more elements than limits().tensor_elements: checked before it is allocated.
void check_output_size(const std::string& node, at::IntArrayRef sizes);
// Sums `grad` over the dimensions that broadcasting expanded from `shape`.
at::Tensor unbroadcast(const at::Tensor& grad, at::IntArrayRef shape);
// Normalises a possibly negative axis.
int64_t axis(int64_t axis, int64_t rank);

}  // namespace whitebox::ops
