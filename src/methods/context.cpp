#include <ATen/ATen.h>

#include "methods/layers.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"

namespace whitebox {

Context::Context(const Model& model, const at::Tensor& input, const std::vector<int64_t>& classes,
                 const Params& params, const TraceOptions& options)
    : model(model),
      trace_options(options),
      input(input.to(model.device(), model.dtype())),
      trace(model.forward(this->input, options)),
      classes(classes),
      params(params) {}

Context::Context(const Model& model, const at::Tensor& input, const Target& target,
                 const Params& params, const TraceOptions& options)
    : model(model),
      trace_options(options),
      input(input.to(model.device(), model.dtype())),
      trace(model.forward(this->input, options)),
      classes(target.resolve(model, trace[model.output()])),
      params(params) {}

Context::Context(const Context& other, const Params& params)
    : model(other.model),
      trace_options(other.trace_options),
      input(other.input),
      trace(other.trace),
      classes(other.classes),
      params(params),
      gradients_(other.gradients_) {}

const at::Tensor& Context::gradient(ValueId value) const {
  if (!gradients_->count(value)) prepare_gradients({value});
  return gradients_->at(value);
}

void Context::prepare_gradients(const std::vector<ValueId>& values) const {
  std::vector<ValueId> missing;
  for (ValueId v : values) {
    if (!gradients_->count(v)) missing.push_back(v);
  }
  if (missing.empty()) return;
  auto grads = model.gradient(trace, classes, missing);
  for (size_t i = 0; i < missing.size(); ++i) (*gradients_)[missing[i]] = grads[i];
}

ValueId Context::layer() const { return layers().front(); }

std::vector<ValueId> Context::layers() const { return explainers::cam_layers(model, trace, params); }

Context Context::with_input(const at::Tensor& new_input, const std::vector<int64_t>& new_classes) const {
  return Context(model, new_input, new_classes, params, trace_options);
}

Context Context::with_params(const Params& new_params) const { return Context(*this, new_params); }

}  // namespace whitebox
