// The method registry and the uniform explain() call.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>

#include "methods/layers.hpp"
#include "methods/methods.hpp"
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

const std::vector<MethodInfo>& methods() {
  static const std::vector<MethodInfo> registry = [] {
    std::vector<MethodInfo> all;
    explainers::add_blackbox_methods(all);
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
  std::string valid;
  for (const auto& m : methods()) valid += (valid.empty() ? "" : ", ") + m.name;
  throw LookupError("unknown method '" + name + "' (valid: " + valid + ")");
}

std::vector<std::string> parameter_names(const MethodInfo& method, const Params& params) {
  std::vector<std::string> names;
  for (const Hyperparameter& h : method.hyperparameters) {
    names.push_back(h.name);
    if (h.name == "base") {
      const MethodInfo& base = find_method(params.text("base", h.fallback));
      if (&base != &method) {
        for (const Hyperparameter& b : base.hyperparameters) names.push_back(b.name);
      }
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

namespace {

// Edits that turn a into b (Levenshtein).
size_t distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

}  // namespace

void check_parameters(const std::vector<std::string>& methods, const Params& params) {
  std::vector<std::string> valid, names;
  for (const auto& name : methods) {
    const MethodInfo& m = find_method(name);
    names.push_back(m.name);
    for (const auto& p : parameter_names(m, params)) valid.push_back(p);
  }
  std::sort(valid.begin(), valid.end());
  valid.erase(std::unique(valid.begin(), valid.end()), valid.end());
  for (const auto& [key, value] : params.values()) {
    if (std::binary_search(valid.begin(), valid.end(), key)) continue;
    // The closest name any method takes, with the methods that take it.
    std::string closest;
    size_t best = std::max<size_t>(2, key.size() / 3) + 1;
    for (const MethodInfo& m : whitebox::methods()) {
      for (const Hyperparameter& h : m.hyperparameters) {
        if (const size_t d = distance(key, h.name); d < best) best = d, closest = h.name;
      }
    }
    std::string hint;
    if (!closest.empty()) {
      std::vector<std::string> takers;
      for (const MethodInfo& m : whitebox::methods()) {
        for (const Hyperparameter& h : m.hyperparameters) {
          if (h.name == closest) takers.push_back(m.name);
        }
      }
      const bool ours = std::binary_search(valid.begin(), valid.end(), closest);
      hint = "; did you mean '" + closest + "'" +
             (ours ? "" : " (a parameter of " + joined(takers) + ")") + "?";
    }
    throw ArgumentError("unknown parameter '" + key + "' for " + joined(names) + " (valid: " +
                        (valid.empty() ? std::string("none") : joined(valid)) + ")" + hint);
  }
}

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
  using Use = MethodInfo::TraceUse;
  TraceOptions options;
  options.lean = std::all_of(methods.begin(), methods.end(), [](const MethodInfo* m) {
    return m->trace_use != Use::Anything || m->trace_reads;
  });
  if (!options.lean) return options;
  // Layers named by the user stay in the trace, and so do the values rule tables read.
  const std::vector<ValueId> named = named_layers(model, params);
  options.keep = named;
  bool to_input = false;
  for (const MethodInfo* m : methods) {
    if (m->trace_reads) {
      const std::vector<ValueId> read = m->trace_reads(model, params);
      options.keep.insert(options.keep.end(), read.begin(), read.end());
    }
    const bool at_layers = m->trace_use == Use::LayerGradients || m->trace_use == Use::LayerValues;
    to_input = to_input || !at_layers;
    // The default layer: the last spatial map, whatever else the trace drops.
    if (at_layers && named.empty()) options.keep_last_map = true;
  }
  // Sweeps that stop at the layers (or do not run) need nothing from the nodes before them.
  if (!to_input) {
    const bool sweeps = std::any_of(methods.begin(), methods.end(), [](const MethodInfo* m) {
      return m->trace_use == Use::LayerGradients;
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
    if (method->uses_input_gradient) shared.push_back(model.input());
    if (method->uses_layer_gradient) {
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
    Explanation e;
    try {
      e = method->run(context);
    } catch (const NumericalError& error) {
      // The sweeps name the node; the method is named here, once for all.
      if (!error.method().empty()) throw;
      throw NumericalError(method->name, error.node(), error.detail());
    }
    explainers::check_finite(e, method->name);
    e.method = method->name;
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
