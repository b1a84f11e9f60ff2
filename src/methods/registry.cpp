// The method registry and the uniform explain() call.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>

#include "closest.hpp"
#include "methods/layers.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "whitebox/error.hpp"

namespace whitebox {

std::string to_string(Family family) {
  switch (family) {
    case Family::BlackBox: return "black-box";
    case Family::Gradient: return "gradient";
    case Family::Relevance: return "relevance";
    case Family::Cam: return "cam";
  }
  return "?";
}

std::string to_string(Resolution resolution) {
  switch (resolution) {
    case Resolution::Input: return "input";
    case Resolution::Layer: return "layer";
    case Resolution::InputOrLayer: return "input or layer";
  }
  return "?";
}

const std::vector<MethodInfo>& methods() {
  static const std::vector<MethodInfo> registry = [] {
    std::vector<MethodInfo> all;
    explainers::add_blackbox_methods(all);
    explainers::add_superpixel_methods(all);
    explainers::add_gradient_methods(all);
    explainers::add_noise_methods(all);
    explainers::add_relevance_methods(all);
    explainers::add_pattern_methods(all);
    explainers::add_deeplift_methods(all);
    explainers::add_excitation_backprop_methods(all);
    explainers::add_cam_methods(all);
    return all;
  }();
  return registry;
}

const MethodInfo& find_method(const std::string& name) {
  for (const auto& m : methods()) {
    if (m.name == name) return m;
    for (const auto& alias : m.aliases) {
      if (alias == name) return m;
    }
  }
  // Aliases are suggested by their method's name.
  std::vector<std::string> spellings, names;
  for (const auto& m : methods()) {
    spellings.push_back(m.name);
    spellings.insert(spellings.end(), m.aliases.begin(), m.aliases.end());
  }
  for (const std::string& near : closest(name, spellings, 6)) {
    const std::string& method = find_method(near).name;
    if (names.size() < 3 && std::find(names.begin(), names.end(), method) == names.end())
      names.push_back(method);
  }
  throw LookupError("unknown method '" + name + "'" + did_you_mean(names) + "; the " +
                    std::to_string(methods().size()) + " methods: whitebox methods");
}

namespace {

// The method a wrapper runs (params "base", or its declared default); null for other methods.
const MethodInfo* base_of(const MethodInfo& method, const Params& params) {
  for (const Hyperparameter& h : method.hyperparameters) {
    if (h.name == "base") return &find_method(params.text("base", h.fallback));
  }
  return nullptr;
}

}  // namespace

MethodInfo facts(const MethodInfo& method, const Params& params) {
  MethodInfo info = method;
  if (const MethodInfo* base = base_of(method, params)) {
    info.class_discriminative = base->class_discriminative;
    info.needs_gradient = base->needs_gradient;
    info.needs_reference = base->needs_reference;
    info.resolution = base->resolution;
    info.cost = "samples x (" + base->cost + ")";
  }
  return info;
}

std::vector<Hyperparameter> parameters_of(const MethodInfo& method, const Params& params) {
  std::vector<Hyperparameter> all = method.hyperparameters;
  const MethodInfo* base = base_of(method, params);
  if (!base || base == &method) return all;
  for (Hyperparameter b : base->hyperparameters) {
    const bool shadowed =
        std::any_of(method.hyperparameters.begin(), method.hyperparameters.end(),
                    [&](const Hyperparameter& own) { return own.name == b.name; });
    if (!shadowed) all.push_back(b);
    b.name = "base." + b.name;
    all.push_back(std::move(b));
  }
  return all;
}

std::vector<std::string> parameter_names(const MethodInfo& method, const Params& params) {
  std::vector<std::string> names;
  for (const Hyperparameter& h : parameters_of(method, params)) names.push_back(h.name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

void check_parameters(const std::vector<std::string>& methods, const Params& params) {
  std::vector<explainers::Declared> chosen, everyone;
  for (const auto& name : methods) {
    const MethodInfo& m = find_method(name);
    chosen.push_back({m.name, parameters_of(m, params)});
  }
  for (const MethodInfo& m : whitebox::methods()) everyone.push_back({m.name, m.hyperparameters});
  explainers::check_declared(chosen, everyone, params);
}

namespace explainers {

Params with_declared_defaults(const MethodInfo& method, const Params& params) {
  Params own(params.values());
  for (const Hyperparameter& h : method.hyperparameters) {
    if (!h.computed) own.set_default(h.name, h.fallback);
  }
  return own;
}

}  // namespace explainers

Params parameters_for(const MethodInfo& method, const Params& params) {
  const std::vector<std::string> names = parameter_names(method, params);
  Params kept;
  for (const auto& [key, value] : params.values()) {
    if (std::binary_search(names.begin(), names.end(), key)) kept.set(key, value);
  }
  return kept;
}

namespace explainers {

TraceOptions trace_options_for(const std::vector<const MethodInfo*>& methods, const Model& model,
                               const Params& params) {
  using Use = Scheduling::TraceUse;
  TraceOptions options;
  options.lean = std::all_of(methods.begin(), methods.end(), [](const MethodInfo* m) {
    return m->scheduling.trace_use != Use::Anything || m->scheduling.trace_reads;
  });
  if (!options.lean) return options;
  // Layers named by the user stay in the trace, and so do the values rule tables read.
  const std::vector<ValueId> named = named_layers(model, params);
  options.keep = named;
  bool to_input = false;
  for (const MethodInfo* m : methods) {
    if (m->scheduling.trace_reads) {
      const std::vector<ValueId> read =
          m->scheduling.trace_reads(model, with_declared_defaults(*m, params));
      options.keep.insert(options.keep.end(), read.begin(), read.end());
    }
    const bool at_layers = m->scheduling.trace_use == Use::LayerGradients ||
                           m->scheduling.trace_use == Use::LayerValues;
    to_input = to_input || !at_layers;
    // The default layer: the last spatial map, whatever else the trace drops.
    if (at_layers && named.empty()) options.keep_last_map = true;
  }
  // Sweeps that stop at the layers (or do not run) need nothing from the nodes before them.
  if (!to_input) {
    const bool sweeps = std::any_of(methods.begin(), methods.end(), [](const MethodInfo* m) {
      return m->scheduling.trace_use == Use::LayerGradients;
    });
    options.sweep_stops = sweeps ? named : std::vector<ValueId>();
  }
  return options;
}

}  // namespace explainers

namespace {

// explain() on the context that `make_context` builds with the trace options of the methods.
template <typename MakeContext>
std::map<std::string, Explanation> explain_with(const Model& model,
                                                const std::vector<std::string>& method_names,
                                                const Params& params, MakeContext make_context) {
  check_parameters(method_names, params);
  std::vector<const MethodInfo*> chosen;
  for (const auto& name : method_names) chosen.push_back(&find_method(name));
  const TraceOptions options = explainers::trace_options_for(chosen, model, params);
  const auto start = std::chrono::steady_clock::now();
  const Context context = make_context(options);
  // One sweep serves every method that reads the plain gradient at the input or the layer.
  std::vector<ValueId> shared;
  for (const MethodInfo* method : chosen) {
    if (method->scheduling.input_gradient) shared.push_back(model.input());
    if (method->scheduling.layer_gradient) {
      for (ValueId layer : context.layers()) shared.push_back(layer);
    }
  }
  std::sort(shared.begin(), shared.end());
  shared.erase(std::unique(shared.begin(), shared.end()), shared.end());
  if (!shared.empty()) context.prepare_gradients(shared);
  auto since = [](auto time) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - time).count();
  };
  // The forward trace and the shared sweep serve every method of the call.
  const double shared_seconds = since(start);
  std::map<std::string, Explanation> result;
  for (const MethodInfo* method : chosen) {
    const auto own = std::chrono::steady_clock::now();
    // What the caller leaves out, the method reads from its declaration.
    const Params method_params = explainers::with_declared_defaults(*method, params);
    Explanation e;
    try {
      e = method->run(context.with_params(method_params));
    } catch (const NumericalError& error) {
      // The sweeps name the node; the method is named here, once for all.
      if (!error.method().empty()) throw;
      throw NumericalError(method->name, error.node(), error.detail());
    }
    explainers::check_finite(e, method->name);
    e.method = method->name;
    e.logits = context.trace[model.output()];
    e.classes = context.classes;
    e.stats["seconds"] = since(own);
    e.stats["shared_seconds"] = shared_seconds;
    result[method->name] = std::move(e);
  }
  return result;
}

}  // namespace

std::map<std::string, Explanation> explain(const Model& model, const at::Tensor& input,
                                           const std::vector<std::string>& method_names,
                                           const Target& target, const Params& params) {
  return explain_with(model, method_names, params, [&](const TraceOptions& options) {
    return Context(model, input, target, params, options);
  });
}

std::map<std::string, Explanation> explain(const Model& model, const at::Tensor& input,
                                           const std::vector<std::string>& method_names,
                                           const std::vector<int64_t>& classes, const Params& params) {
  return explain_with(model, method_names, params, [&](const TraceOptions& options) {
    return Context(model, input, classes, params, options);
  });
}

}  // namespace whitebox
