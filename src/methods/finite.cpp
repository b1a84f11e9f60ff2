// No method may return a value that is not a finite number: the checks, and the diagnosis that
// names the node where a sweep's signal first stopped being finite.
#include <ATen/ATen.h>

#include <cmath>

#include "methods/methods.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers {

std::vector<at::Tensor> sweep_finite(const Context& c,
                                     const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                                     const std::vector<ValueId>& targets, const Rules& rules) {
  return sweep_finite(c.model, c.trace, seeds, targets, rules);
}

std::vector<at::Tensor> sweep_finite(const Model& model, const Trace& trace,
                                     const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                                     const std::vector<ValueId>& targets, const Rules& rules) {
  std::vector<at::Tensor> result = model.sweep(trace, seeds, targets, rules);
  const bool finite = std::all_of(result.begin(), result.end(), [](const at::Tensor& t) {
    return at::isfinite(t).all().item<bool>();
  });
  if (finite) return result;
  Rules checked = rules;
  model.sweep(trace, seeds, targets, checked.check_finite());  // throws at the node
  throw NumericalError("", "", "the signal is not finite where the sweep ends");
}

void check_finite(const Explanation& e, const std::string& method) {
  for (const auto& [what, t] : {std::pair{"map", &e.map}, std::pair{"attribution", &e.attribution}}) {
    if (t->defined() && !at::isfinite(*t).all().item<bool>()) {
      throw NumericalError(method, "", std::string("the ") + what + " is not finite (" +
                                           std::to_string(at::isfinite(*t).logical_not().sum().item<int64_t>()) +
                                           " of " + std::to_string(t->numel()) + " values)");
    }
  }
  for (const auto& [name, value] : e.stats) {
    if (!std::isfinite(value)) {
      throw NumericalError(method, "", "the statistic '" + name + "' is not finite (" +
                                           std::to_string(value) + ")");
    }
  }
}

}  // namespace whitebox::explainers
