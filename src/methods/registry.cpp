// The method registry and the uniform explain() call.
#include <ATen/ATen.h>

#include <chrono>

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
    explainers::add_gradient_methods(all);
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

std::map<std::string, Explanation> explain(const Model& model, const at::Tensor& input,
                                           const std::vector<std::string>& method_names,
                                           const Target& target, const Params& params) {
  std::vector<const MethodInfo*> chosen;
  for (const auto& name : method_names) chosen.push_back(&find_method(name));
  const Trace trace = model.forward(input);
  const at::Tensor& x = trace[model.input()];
  const std::vector<int64_t> classes = target.resolve(model, trace[model.output()]);
  const Context context{model, x, trace, classes, params};
  std::map<std::string, Explanation> result;
  for (const MethodInfo* method : chosen) {
    const auto start = std::chrono::steady_clock::now();
    Explanation e = method->run(context);
    e.method = method->name;
    e.stats["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result[method->name] = std::move(e);
  }
  return result;
}

}  // namespace whitebox
