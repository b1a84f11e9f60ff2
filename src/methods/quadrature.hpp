#pragma once
// Quadrature rules over [0, 1], for path integrals of gradients (integrated gradients, DeepLIFT's
// smooth multi-input non-linearities).
#include <cstdint>
#include <string>
#include <vector>

namespace whitebox::explainers {

struct Quadrature {
  std::vector<double> alphas, weights;  // points in [0, 1] and their weights (summing to 1)
};

// `steps` points by `rule`: gauss-legendre, riemann-left, riemann-middle, riemann-right or
// trapezoid (endpoints included). Throws ArgumentError.
Quadrature quadrature(const std::string& rule, int64_t steps);

}  // namespace whitebox::explainers
