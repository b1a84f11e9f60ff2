// Quadrature rules over [0, 1] for path integrals of gradients.
#include "methods/quadrature.hpp"

#include <algorithm>
#include <cmath>

#include "whitebox/error.hpp"

namespace whitebox::explainers {
namespace {

// n-point Gauss-Legendre on [-1, 1]: Newton's method on P_n from the Chebyshev-like initial
// guesses, P_n and P_n' from the three-term recurrence. Mapped to [0, 1].
Quadrature gauss_legendre(int64_t n) {
  Quadrature q;
  for (int64_t i = 0; i < n; ++i) {
    double x = std::cos(M_PI * (static_cast<double>(i) + 0.75) / (static_cast<double>(n) + 0.5));
    double derivative = 1.0;
    for (int iteration = 0; iteration < 100; ++iteration) {
      double p_prev = 1.0, p = x;  // P_0, P_1
      for (int64_t k = 2; k <= n; ++k) {
        const double next = ((2.0 * k - 1.0) * x * p - (k - 1.0) * p_prev) / static_cast<double>(k);
        p_prev = p;
        p = next;
      }
      derivative = static_cast<double>(n) * (x * p - p_prev) / (x * x - 1.0);
      const double dx = p / derivative;
      x -= dx;
      if (std::abs(dx) < 1e-15) break;
    }
    q.alphas.push_back((x + 1.0) / 2.0);
    q.weights.push_back(1.0 / ((1.0 - x * x) * derivative * derivative));  // (2 / ...) / 2
  }
  // Ascending alphas, for readability of path batches.
  std::reverse(q.alphas.begin(), q.alphas.end());
  std::reverse(q.weights.begin(), q.weights.end());
  return q;
}

}  // namespace

Quadrature quadrature(const std::string& rule, int64_t steps) {
  Quadrature q;
  const double n = static_cast<double>(steps);
  if (rule == "gauss-legendre") return gauss_legendre(steps);
  if (rule == "trapezoid") {
    if (steps < 2) throw ArgumentError("integration=trapezoid needs steps >= 2");
    for (int64_t k = 0; k < steps; ++k) {
      q.alphas.push_back(k / (n - 1.0));
      q.weights.push_back((k == 0 || k == steps - 1 ? 0.5 : 1.0) / (n - 1.0));
    }
    return q;
  }
  double offset;
  if (rule == "riemann-left") {
    offset = 0.0;
  } else if (rule == "riemann-right") {
    offset = 1.0;
  } else if (rule == "riemann-middle") {
    offset = 0.5;
  } else {
    throw ArgumentError("unknown integration rule '" + rule +
                        "' (valid: gauss-legendre, riemann-left, riemann-middle, riemann-right, "
                        "trapezoid)");
  }
  for (int64_t k = 0; k < steps; ++k) {
    q.alphas.push_back((k + offset) / n);
    q.weights.push_back(1.0 / n);
  }
  return q;
}

}  // namespace whitebox::explainers
