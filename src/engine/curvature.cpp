// Second derivatives: reverse over reverse through autograd. The graph downstream of the value is
// rerun with the value as an autograd leaf; the first gradient is taken with its own graph
// recorded, and differentiating its dot product with v gives H v without forming H.
#include <torch/csrc/autograd/autograd.h>

#include "engine/engine.hpp"

namespace whitebox::engine {

Curvature hessian_vector_product(const ops::Program& program, const Trace& trace, ValueId value,
                                 const at::Tensor& v, const ScoreFunction& score) {
  at::AutoGradMode recording(true);
  const at::Tensor leaf = trace[value].detach().requires_grad_(true);
  const Trace rerun = forward_from(program, trace, value, leaf, /*differentiable=*/true);
  const at::Tensor total = score(rerun[program.graph().outputs.at(0)]).sum();
  // A score that does not depend on the value (or only linearly) has no gradient (or no
  // curvature) for autograd to return: zeros.
  at::Tensor gradient, curvature;
  if (total.requires_grad()) {
    gradient = torch::autograd::grad({total}, {leaf}, {}, /*retain_graph=*/true,
                                     /*create_graph=*/true, /*allow_unused=*/true)[0];
  }
  if (gradient.defined() && gradient.requires_grad()) {
    curvature = torch::autograd::grad({gradient}, {leaf}, {v.to(leaf.options())},
                                      /*retain_graph=*/false, /*create_graph=*/false,
                                      /*allow_unused=*/true)[0];
  }
  const auto or_zeros = [&](const at::Tensor& t) {
    return t.defined() ? t.detach() : at::zeros_like(leaf, at::MemoryFormat::Contiguous).detach();
  };
  return {or_zeros(gradient), or_zeros(curvature)};
}

}  // namespace whitebox::engine
