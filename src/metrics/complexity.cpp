// Complexity of a map: Gini sparseness (Chalasani et al., ICML 2020), entropy (Bhatt et al.,
// 2020) and effective complexity (Nguyen & Martinez, 2020).
#include "whitebox/metrics/complexity.hpp"

#include <cmath>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"

namespace whitebox::metrics {

double sparseness(const at::Tensor& map) {
  if (!map.defined() || map.numel() == 0) throw InputError("sparseness needs a non-empty map");
  const at::Tensor v = std::get<0>(at::sort(map.to(at::kDouble).abs().reshape({-1})));
  const double total = v.sum().item<double>();
  if (!(total > 0)) return 0.0;  // nothing singled out: as even as a uniform map
  const int64_t n = v.numel();
  const at::Tensor k = at::arange(1, n + 1, v.options());
  return ((2 * k - n - 1) * v).sum().item<double>() / (static_cast<double>(n) * total);
}

double entropy(const at::Tensor& map) {
  if (!map.defined() || map.numel() == 0) throw InputError("entropy needs a non-empty map");
  const at::Tensor a = map.to(at::kDouble).abs().reshape({-1});
  const double total = a.sum().item<double>();
  if (!(total > 0)) return std::log(static_cast<double>(a.numel()));  // a zero map reads as uniform
  const at::Tensor p = a / total;
  return -at::xlogy(p, p).sum().item<double>();
}

double effective_complexity(const at::Tensor& map, double eps) {
  if (!map.defined() || map.numel() == 0)
    throw InputError("effective complexity needs a non-empty map");
  if (!(eps >= 0)) throw ArgumentError("effective complexity needs eps >= 0, not " + c10::str(eps));
  const at::Tensor above = map.to(at::kDouble).abs() > eps;
  return static_cast<double>(above.sum().item<int64_t>()) / static_cast<double>(map.numel());
}

namespace detail {

void add_complexity_metrics(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "sparseness",
       .group = Group::Complexity,
       .summary = "Gini index of |map|: 0 uniform, towards 1 for a single pixel",
       .citation =
           "Chalasani, Chen, Chowdhury, Wu & Jha, Concise Explanations of Neural Networks using "
           "Adversarial Training, ICML 2020",
       .values = {{"sparseness", true}},
       .run = [](const Sample& s, const Params&) -> Values {
         return {{"sparseness", sparseness(s.map)}};
       }});
  registry.push_back({.name = "entropy",
                      .group = Group::Complexity,
                      .summary = "entropy of |map| as a distribution (nats): lower is more concise",
                      .citation =
                          "Bhatt, Weller & Moura, Evaluating and Aggregating Feature-based Model "
                          "Explanations, IJCAI 2020",
                      .values = {{"entropy", false}},
                      .run = [](const Sample& s, const Params&) -> Values {
                        return {{"entropy", entropy(s.map)}};
                      }});
  registry.push_back(
      {.name = "effective-complexity",
       .group = Group::Complexity,
       .summary = "share of the pixels whose |map| exceeds eps: lower is more concise",
       .citation = "Nguyen & Martinez, On quantitative aspects of model interpretability, "
                   "arXiv:2007.07584, 2020",
       .values = {{"effective_complexity", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         return {{"effective_complexity",
                  effective_complexity(s.map, p.number("eps", kEffectiveComplexityEps))}};
       },
       .parameters = {number_parameter("eps", kEffectiveComplexityEps, "threshold on |map|", 0)}});
}

}  // namespace detail

}  // namespace whitebox::metrics
