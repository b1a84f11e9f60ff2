#pragma once
// Helpers for the operator tests: autograd on an independent reference, and direct kernel calls.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <functional>
#include <map>
#include <vector>

#include "ops/kernel.hpp"
#include "ops/program.hpp"
#include "support.hpp"

namespace whitebox::test {

using Reference = std::function<at::Tensor(const std::vector<at::Tensor>&)>;

// The gradient of sum(reference(inputs) * seed) with respect to each floating input, by autograd.
inline std::vector<at::Tensor> reference_vjp(const Reference& reference,
                                             const std::vector<at::Tensor>& inputs,
                                             const at::Tensor& seed) {
  at::AutoGradMode grad(true);
  std::vector<at::Tensor> leaves, sources;
  for (const auto& t : inputs) {
    leaves.push_back(t.is_floating_point() ? t.detach().requires_grad_(true) : t);
    if (t.is_floating_point()) sources.push_back(leaves.back());
  }
  const at::Tensor y = reference(leaves);
  auto grads = torch::autograd::grad({y}, sources, {seed}, false, false, /*allow_unused=*/true);
  std::vector<at::Tensor> result;
  size_t k = 0;
  for (const auto& t : inputs) {
    if (!t.is_floating_point()) {
      result.emplace_back();
      continue;
    }
    result.push_back(grads[k].defined() ? grads[k] : at::zeros_like(t));
    ++k;
  }
  return result;
}

// Runs a one-node model on x and compares output and sweep gradient with the reference applied
// to x alone. Returns {forward error, gradient error}.
inline std::pair<double, double> compare_with_reference(const Model& model, const at::Tensor& x,
                                                        const std::function<at::Tensor(const at::Tensor&)>& reference) {
  Trace trace = model.forward(x);
  const at::Tensor& y = trace[model.output()];
  const at::Tensor expected = reference(x);
  const at::Tensor seed = at::randn_like(expected);
  const at::Tensor grad = reference_vjp([&](const std::vector<at::Tensor>& in) { return reference(in[0]); },
                                        {x}, seed)[0];
  // relative_error reduces with max, which an empty tensor does not allow.
  const double forward_error = expected.numel() == 0
                                   ? (y.sizes().equals(expected.sizes()) ? 0.0 : INFINITY)
                                   : relative_error(y, expected);
  return {forward_error, relative_error(sweep_gradient(model, x, seed), grad)};
}

// The kernel of a one-node model.
inline const ops::Kernel& kernel_of(const Model& model) { return model.program().kernel(0); }

}  // namespace whitebox::test
