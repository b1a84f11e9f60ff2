#pragma once
// Explanation methods: a registry (the taxonomy as data) and one uniform call.
#include <ATen/core/Tensor.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "whitebox/model.hpp"

namespace whitebox {

// Which class each image is explained for.
struct Target {
  enum class Kind { TopK, Index, Label };
  Kind kind = Kind::TopK;
  int64_t value = 1;   // k for TopK (rank k: 1 = top-1), class index for Index
  std::string label;   // for Label

  static Target top(int64_t rank = 1) { return {Kind::TopK, rank, {}}; }
  static Target index(int64_t cls) { return {Kind::Index, cls, {}}; }
  static Target named(std::string label) { return {Kind::Label, 0, std::move(label)}; }
  // "top1" or "rank:1" (the predicted class), "top3" or "rank:3" (the third most likely), "281"
  // (a class index), "tabby cat" (a label, or a part of only one). Throws ArgumentError.
  static Target parse(const std::string& text);
  // The class of every image of the batch; throws ArgumentError / LookupError.
  std::vector<int64_t> resolve(const Model& model, const at::Tensor& logits) const;
};

// Hyper-parameters by name, as text (from the command line) with typed accessors: the values a
// caller gives, over the declared defaults of the method that reads them (explain() adds those).
class Params {
 public:
  Params() = default;
  Params(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  Params& set(const std::string& name, const std::string& value);
  // The value read when the caller gives none; not a given value (has(), values()).
  Params& set_default(const std::string& name, const std::string& value);
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  // The given value, else the default. A key with neither is a read of an undeclared parameter:
  // std::logic_error naming it.
  std::string text(const std::string& name) const;
  double number(const std::string& name) const;    // throws ArgumentError
  int64_t integer(const std::string& name) const;  // throws ArgumentError
  // The given value, else `fallback`.
  std::string text(const std::string& name, const std::string& fallback) const;
  double number(const std::string& name, double fallback) const;     // throws ArgumentError
  int64_t integer(const std::string& name, int64_t fallback) const;  // throws ArgumentError
  // The given values only.
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  const std::string& read(const std::string& name) const;
  std::map<std::string, std::string> values_, defaults_;
};

// The result of one method on one batch.
struct Explanation {
  std::string method;
  at::Tensor map;          // [N, H, W] over input pixels (CAMs upsampled): what is drawn
  // The raw result: [N, C, H, W] over the input, [N, h, w] over a layer (a CAM) or [N, K, h, w]
  // per unit of a layer (the layer attributions).
  at::Tensor attribution;
  bool is_signed = false;  // whether negative values carry meaning (diverging colormap)
  std::string layer;       // the layer a CAM, layer or neuron attribution was computed at
  std::map<std::string, double> stats;  // e.g. completeness gap
  // Set by explain(): the batch's logits [N, K] from the forward trace the methods shared, and
  // the class each image was explained for.
  at::Tensor logits;
  std::vector<int64_t> classes;
};

// Everything a method may use: the model, the input batch, its forward trace and the classes.
// Gradients of the target logits are computed once per call and shared by all methods.
class Context {
 public:
  Context(const Model& model, const at::Tensor& input, const std::vector<int64_t>& classes,
          const Params& params, const TraceOptions& options = {});
  // Resolves the target on the logits of the input's trace.
  Context(const Model& model, const at::Tensor& input, const Target& target, const Params& params,
          const TraceOptions& options = {});

  const Model& model;
  const TraceOptions trace_options;  // how `trace` was made; batches from with_input alike
  const at::Tensor input;  // [N, C, H, W] on the model's device, in its dtype
  const Trace trace;       // forward trace of `input`
  const std::vector<int64_t> classes;
  const Params& params;

  // d sum_i logits[i, classes[i]] / d value, from the cache or a new sweep.
  const at::Tensor& gradient(ValueId value) const;
  // Computes the gradients at all these values in one sweep, for later gradient() calls.
  void prepare_gradients(const std::vector<ValueId>& values) const;
  // The CAM layer: params "layer" if given, else the last spatial feature map. With several
  // layers ("layer=a,b") the first.
  ValueId layer() const;
  // All CAM layers of params "layer" (comma-separated), or the automatic one.
  std::vector<ValueId> layers() const;
  // The same method inputs for another batch (noisy copies, path points) with these classes.
  Context with_input(const at::Tensor& input, const std::vector<int64_t>& classes) const;
  // The same batch, trace and gradients with other parameters (one method's of several), which
  // must outlive the result.
  Context with_params(const Params& params) const;

 private:
  Context(const Context& other, const Params& params);
  // Shared with with_params() views: a gradient one method computes serves the next.
  std::shared_ptr<std::map<ValueId, at::Tensor>> gradients_ =
      std::make_shared<std::map<ValueId, at::Tensor>>();
};

enum class Family { BlackBox, Gradient, Relevance, Cam };
std::string to_string(Family family);

// A declared hyper-parameter. Every key given to a method or metric must be one it declares,
// and every value must be of the declared type and range: check_parameters() checks both before
// anything runs.
struct Hyperparameter {
  enum class Type { Text, Integer, Number, Choice };
  std::string name, fallback, meaning;
  Type type = Type::Text;
  double lowest = -HUGE_VAL, highest = HUGE_VAL;  // Integer and Number, inclusive
  std::vector<std::string> choices;               // Choice
  // The fallback describes a default the method computes ("auto", "window / 2"): it is shown,
  // never given to the method as a value.
  bool computed = false;
  // Throws ArgumentError unless `value` is of this type and range.
  void check(const std::string& value) const;
  // "an integer >= 1", "a number in [0, 1]", "one of max, l2, sum", "text".
  std::string describe() const;
};

// Where a method's map lives: over the input's pixels, over a layer's positions (upsampled for
// drawing), or either as the method's parameters choose (excitation backprop's stopping layer).
enum class Resolution { Input, Layer, InputOrLayer };
std::string to_string(Resolution resolution);

// What explain() needs to know to run a method together with others on one forward trace.
struct Scheduling {
  // The plain gradients the method reads, so that one sweep can serve several methods.
  bool input_gradient = false;
  bool layer_gradient = false;
  // What the method reads of the forward trace, so that a lean trace (TraceOptions::lean) can
  // serve it: anything (the default); plain or ReLU-masked gradients down to the input; plain
  // gradients down to its layers; the values at its layers only.
  enum class TraceUse { Anything, InputGradients, LayerGradients, LayerValues };
  TraceUse trace_use = TraceUse::Anything;
  // Rule-based methods: the values their rule table reads (Rules::values_read), so that a lean
  // trace keeping them serves them too.
  std::function<std::vector<ValueId>(const Model&, const Params&)> trace_reads;
};

// A method that is one rule-based sweep from the output to the input (LRP, deep Taylor,
// excitation backprop, gradient x input): its rule table and seed, so that concepts() can
// condition the sweep on channels of hidden layers.
struct RelevanceSweep {
  Rules rules;
  at::Tensor seed;        // at the model's output, shaped like the logits
  bool gradient = false;  // the signal is a gradient: the relevance is signal (.) value
};

// One entry of the taxonomy, written with designated initialisers.
struct MethodInfo {
  std::string name;
  std::vector<std::string> aliases;
  Family family = Family::Gradient;
  std::string summary;
  bool class_discriminative = false;
  bool needs_gradient = false;
  bool needs_reference = false;  // a baseline / reference input
  Resolution resolution = Resolution::Input;
  std::string cost;  // in forward / backward passes
  std::vector<Hyperparameter> hyperparameters;
  std::string citation;
  std::function<Explanation(const Context&)> run;
  Scheduling scheduling;
  // Set for the methods whose map is one relevance sweep (RelevanceSweep).
  std::function<RelevanceSweep(const Context&)> relevance_sweep;
};

// A method's mathematics as markdown (notation: docs/methods.md), by registry name; what a
// family's methods share under "family:NAME" and notes for the documentation under "notes:NAME"
// (NAME as to_string(Family)). Empty when there is none.
std::string_view mathematics(std::string_view key);

// The registry, in taxonomy order.
const std::vector<MethodInfo>& methods();
// By name or alias; throws LookupError listing the valid names.
const MethodInfo& find_method(const std::string& name);

// The method's entry with its facts for these params: a wrapper (SmoothGrad, ...) is as
// class-discriminative, gradient-based, reference-needing and at the resolution of its base
// method, at `samples` times its cost.
MethodInfo facts(const MethodInfo& method, const Params& params);
// The hyper-parameters a method takes: its own, and for a wrapper (SmoothGrad, ...) its base
// method's (params "base", or its default), each also as "base.NAME": a key that the wrapper
// declares itself (batch, seed) reaches the base only so prefixed.
std::vector<Hyperparameter> parameters_of(const MethodInfo& method, const Params& params = {});
std::vector<std::string> parameter_names(const MethodInfo& method, const Params& params = {});
// Throws ArgumentError for a key of `params` that none of `methods` takes (naming the valid ones
// and the closest name that any method takes), or a value outside its declared type and range.
void check_parameters(const std::vector<std::string>& methods, const Params& params);
// Only the keys of `params` that `method` takes: for running one method of several.
Params parameters_for(const MethodInfo& method, const Params& params);

// Runs several methods on one batch, sharing one forward trace. Keyed by method name. Throws
// ArgumentError for a parameter that no method takes (check_parameters), NumericalError for a
// result that is not finite.
std::map<std::string, Explanation> explain(const Model& model, const at::Tensor& input,
                                           const std::vector<std::string>& method_names,
                                           const Target& target = Target::top(),
                                           const Params& params = {});
// The same with the class of each image of the batch given.
std::map<std::string, Explanation> explain(const Model& model, const at::Tensor& input,
                                           const std::vector<std::string>& method_names,
                                           const std::vector<int64_t>& classes,
                                           const Params& params = {});

}  // namespace whitebox
