#include "whitebox/model.hpp"

#include <ATen/ATen.h>

#include <map>
#include <mutex>

#include "canonicalize/canonicalize.hpp"
#include "engine/engine.hpp"
#include "io/sidecar.hpp"
#include "onnx/import.hpp"
#include "ops/program.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/files.hpp"

namespace whitebox {
namespace {

// Reads the optional sidecar `<model>.json`: {"preprocessing": preset, "crop": f, "labels": file}.
void read_sidecar(Model& model, const std::filesystem::path& onnx_file) {
  auto shape = model.input_shape();
  const int height = shape.size() == 4 && shape[2] > 0 ? static_cast<int>(shape[2]) : 224;
  const int width = shape.size() == 4 && shape[3] > 0 ? static_cast<int>(shape[3]) : 224;
  model.preprocessing = Preprocessing::preset("imagenet", width, height);
  const auto file = std::filesystem::path(onnx_file).replace_extension(".json");
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    const Sidecar sidecar = parse_sidecar(read_file(file, "model sidecar"), file.string());
    try {
      model.preprocessing =
          Preprocessing::preset(sidecar.preprocessing.value_or("imagenet"), width, height);
    } catch (const LookupError& e) {
      throw ModelFormatError("model sidecar " + printable(file.string()) + ": " + e.what());
    }
    model.preprocessing.crop = sidecar.crop.value_or(model.preprocessing.crop);
    if (sidecar.labels) {
      model.labels = read_labels(labels_path(file.parent_path(), *sidecar.labels, file.string()));
    }
  }
  if (model.labels.empty() && model.num_classes() == 1000) {
    std::error_code missing;
    auto imagenet = data_dir() / "imagenet_labels_1000.txt";
    if (std::filesystem::exists(imagenet, missing)) model.labels = read_labels(imagenet);
  }
}

}  // namespace

Model Model::load(const std::filesystem::path& onnx_file, const LoadOptions& options) {
  if (!at::isFloatingType(options.dtype)) throw ArgumentError("a model's type must be floating point");
  Graph graph = onnx_import::import(onnx_file);
  // Every method and metric picks one of the classes of the output: a model with none is of no
  // use, and kernels and methods would run on empty tensors.
  if (const Value& output = graph.values[graph.outputs.at(0)];
      !output.shape.empty() && output.shape.back() == 0) {
    throw ModelFormatError("the model's output '" + output.name + "' has no classes (shape " +
                           c10::str(at::IntArrayRef(output.shape)) + "): " + onnx_file.string());
  }
  for (auto& value : graph.values) {
    if (value.is_constant() && value.constant.is_floating_point()) {
      value.constant = value.constant.to(options.dtype);
    }
  }
  if (options.canonicalize) passes::canonicalize(graph);
  Model model = from_graph(std::move(graph));
  // Checked once the kernels are built (their attributes and sizes checked first). A classifier's
  // output is [N, classes], or [N, classes, 1, 1] after a final 1x1 convolution; a map of [N, 8,
  // 32, 32] is not 8192 classes.
  if (const Value& output = model.graph().values[model.output()]; output.shape.size() > 2) {
    for (size_t d = 2; d < output.shape.size(); ++d) {
      if (output.shape[d] > 1) {
        throw ModelFormatError(
            "the model's output '" + output.name + "' has shape " +
            c10::str(at::IntArrayRef(output.shape)) +
            ", not a classifier's [N, classes] (or [N, classes, 1, 1]): " + onnx_file.string());
      }
    }
  }
  model.path_ = onnx_file;
  model.options_ = options;
  read_sidecar(model, onnx_file);
  return model;
}

struct Model::DerivedCache {
  std::mutex mutex;
  std::map<std::pair<ValueId, std::string>, at::Tensor> kept;
  size_t budget = 0, used = 0;  // bytes
};

Model Model::from_graph(Graph graph) {
  Model model;
  model.program_ = std::make_shared<const ops::Program>(std::move(graph));
  model.derived_ = std::make_shared<DerivedCache>();
  for (const auto& value : model.graph().values) {
    if (value.is_constant() && value.constant.is_floating_point()) {
      model.derived_->budget += value.constant.nbytes();
    }
  }
  return model;
}

const Graph& Model::graph() const { return program_->graph(); }

Model Model::with_graph(Graph graph) const {
  Model model = from_graph(std::move(graph));
  model.preprocessing = preprocessing;
  model.labels = labels;
  return model;
}

at::Tensor Model::derived(ValueId weight, const std::string& kind,
                          const std::function<at::Tensor()>& make) const {
  if (!derived_ || weight < 0 || !graph().values.at(weight).is_constant()) return make();
  const auto key = std::make_pair(weight, kind);
  {
    std::lock_guard<std::mutex> lock(derived_->mutex);
    if (auto it = derived_->kept.find(key); it != derived_->kept.end()) return it->second;
  }
  at::Tensor made = make();
  std::lock_guard<std::mutex> lock(derived_->mutex);
  if (derived_->used + made.nbytes() <= derived_->budget && derived_->kept.emplace(key, made).second) {
    derived_->used += made.nbytes();
  }
  return made;
}

namespace {

// A copy of the model's graph with every floating-point constant converted by `convert`.
template <typename Convert>
Model convert_constants(const Model& model, Convert convert) {
  Graph graph = model.graph();
  for (auto& value : graph.values) {
    if (value.is_constant() && value.constant.is_floating_point()) {
      value.constant = convert(value.constant);
    }
  }
  Model copy = Model::from_graph(std::move(graph));
  copy.preprocessing = model.preprocessing;
  copy.labels = model.labels;
  return copy;
}

// A sweep's targets: the input when none are named.
std::vector<ValueId> targets_or_input(const std::vector<ValueId>& targets, ValueId input) {
  return targets.empty() ? std::vector<ValueId>{input} : targets;
}

}  // namespace

Model Model::to(c10::Device device) const {
  Model copy = convert_constants(*this, [&](const at::Tensor& t) { return t.to(device); });
  copy.path_ = path_;
  copy.options_ = options_;
  return copy;
}

Model Model::to(c10::ScalarType dtype) const {
  if (!at::isFloatingType(dtype)) throw ArgumentError("a model's type must be floating point");
  if (!path_.empty()) {
    LoadOptions options = options_;
    options.dtype = dtype;
    Model copy = load(path_, options).to(device());
    copy.preprocessing = preprocessing;
    copy.labels = labels;
    return copy;
  }
  Model copy = convert_constants(*this, [&](const at::Tensor& t) { return t.to(dtype); });
  copy.path_ = path_;
  return copy;
}

c10::Device Model::device() const {
  for (const auto& value : graph().values) {
    if (value.is_constant() && value.constant.is_floating_point()) return value.constant.device();
  }
  return c10::Device(c10::kCPU);
}

c10::ScalarType Model::dtype() const {
  for (const auto& value : graph().values) {
    if (value.is_constant() && value.constant.is_floating_point()) {
      return value.constant.scalar_type();
    }
  }
  return at::kFloat;
}

std::vector<int64_t> Model::input_shape() const { return graph().values[input()].shape; }

int64_t Model::num_classes() const {
  // Classifiers ending in a 1x1 convolution give [N, K, 1, 1]: the classes are all non-batch
  // positions, as the methods and metrics read them.
  const auto& shape = graph().values[output()].shape;
  if (shape.empty()) return -1;
  int64_t classes = 1;
  for (size_t i = 1; i < shape.size(); ++i) {
    if (shape[i] <= 0) return shape.back();
    classes *= shape[i];
  }
  return shape.size() == 1 ? shape.back() : classes;
}

Trace Model::forward(const at::Tensor& x, const TraceOptions& options) const {
  if (!x.defined() || !x.is_floating_point()) {
    throw InputError("the input must be a floating-point tensor");
  }
  const auto shape = input_shape();
  bool fits = x.dim() == static_cast<int64_t>(shape.size()) || shape.empty();
  for (size_t d = 1; fits && d < shape.size(); ++d) fits = shape[d] <= 0 || x.size(d) == shape[d];
  if (!fits) {
    std::vector<int64_t> expected = shape;
    if (!expected.empty()) expected[0] = x.dim() > 0 ? x.size(0) : 1;
    throw InputError("input of shape " + c10::str(x.sizes()) + " does not fit the model, which takes " +
                     c10::str(at::IntArrayRef(expected)));
  }
  // Computation happens in the type of the model's weights (a weightless model keeps x's).
  bool weighted = false;
  for (const auto& value : graph().values) {
    weighted = weighted || (value.is_constant() && value.constant.is_floating_point());
  }
  return engine::forward(*program_, x.to(device(), weighted ? dtype() : x.scalar_type()), options);
}

at::Tensor Model::logits(const at::Tensor& x) const {
  TraceOptions inference;
  inference.outputs_only = true;
  at::Tensor result = forward(x, inference)[output()];
  if (at::isfinite(result).all().item<bool>()) return result;
  // Not a number to report: the first node whose output is not finite is to blame (NaN or
  // infinite weights, or values past float's range).
  const Trace trace = forward(x);
  for (const auto& node : graph().nodes) {
    for (const ValueId v : node.outputs) {
      if (v != kNoValue && trace[v].defined() && trace[v].is_floating_point() &&
          !at::isfinite(trace[v]).all().item<bool>()) {
        throw NumericalError("", node.name,
                             "the logits are not finite: node '" + node.name + "' (" +
                                 node.op_type + ") is the first whose output is not");
      }
    }
  }
  throw NumericalError("", "", "the logits are not finite");
}

Trace Model::forward_from(const Trace& trace, ValueId value, const at::Tensor& replacement) const {
  if (value < 0 || value >= static_cast<ValueId>(graph().values.size()) ||
      !trace[value].defined()) {
    throw ArgumentError("forward_from: no traced value " + std::to_string(value));
  }
  return engine::forward_from(*program_, trace, value, replacement);
}

Curvature Model::hessian_vector_product(const Trace& trace, ValueId value, const at::Tensor& v,
                                        const ScoreFunction& score) const {
  if (value < 0 || value >= static_cast<ValueId>(graph().values.size()) ||
      !trace[value].defined()) {
    throw ArgumentError("hessian_vector_product: no traced value " + std::to_string(value));
  }
  if (!v.defined() || !v.sizes().equals(trace[value].sizes())) {
    throw ArgumentError("hessian_vector_product: the direction must have the value's shape " +
                        c10::str(trace[value].sizes()));
  }
  return engine::hessian_vector_product(*program_, trace, value, v, score);
}

std::vector<at::Tensor> Model::sweep(const Trace& trace,
                                     const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                                     const std::vector<ValueId>& targets, const Rules& rules) const {
  return engine::sweep(*program_, trace, seeds, targets_or_input(targets, input()), rules);
}

std::vector<at::Tensor> Model::sweep(Trace&& trace,
                                     const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                                     const std::vector<ValueId>& targets, const Rules& rules) const {
  return engine::sweep(*program_, trace, seeds, targets_or_input(targets, input()), rules, &trace);
}

std::vector<at::Tensor> Model::gradient(const Trace& trace, const std::vector<int64_t>& classes,
                                        const std::vector<ValueId>& targets) const {
  return sweep(trace, {{output(), class_seed(trace, classes)}}, targets);
}

std::vector<at::Tensor> Model::gradient(Trace&& trace, const std::vector<int64_t>& classes,
                                        const std::vector<ValueId>& targets) const {
  const at::Tensor seed = class_seed(trace, classes);
  return sweep(std::move(trace), {{output(), seed}}, targets);
}

at::Tensor Model::class_seed(const Trace& trace, const std::vector<int64_t>& classes) const {
  const at::Tensor& logits = trace[output()];
  if (logits.dim() != 2 || static_cast<int64_t>(classes.size()) != logits.size(0)) {
    throw ArgumentError("one target class per image is needed (" + std::to_string(classes.size()) +
                        " given for a batch of " + std::to_string(logits.size(0)) + ")");
  }
  for (int64_t c : classes) {
    if (c < 0 || c >= logits.size(1)) {
      throw ArgumentError("target class " + std::to_string(c) + " is out of range [0, " +
                          std::to_string(logits.size(1)) + ")");
    }
  }
  const at::Tensor index = at::tensor(classes, at::kLong).to(logits.device());
  return at::one_hot(index, logits.size(1)).to(logits.scalar_type());
}

}  // namespace whitebox
