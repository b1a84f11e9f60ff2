#pragma once
// Testing with concept activation vectors (Kim et al., "Interpretability Beyond Feature
// Attribution: Quantitative Testing with Concept Activation Vectors (TCAV)", ICML 2018): how
// much a class's logit rises along a human concept, given by example images, at a hidden layer,
// and whether that is more than random images show (docs/concepts.md, TCAV).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox {

// A concept: its name and its example images as model inputs [N, C, H, W].
struct ConceptExamples {
  std::string name;
  at::Tensor images;
};

struct TcavOptions {
  // Runs of the significance test: each draws the examples of every CAV anew (at least 2; the
  // paper asks for 10 or more).
  int64_t runs = 10;
  // The examples on each side of a CAV in one run: that many of the concept's images against as
  // many random ones. 0: a quarter of the fewer of the concept's images and half the random
  // ones (at least 2), which keeps the test's false positives near alpha (docs/concepts.md).
  int64_t examples = 0;
  uint64_t seed = 0;  // of the draws
  double alpha = 0.05;
  bool bonferroni = false;  // significant: p < alpha / the number of concepts
  // The L2 penalty of the logistic regression, relative to the examples' mean squared distance
  // from their mean (so that it does not depend on the layer's scale).
  double regularisation = 0.01;
  int64_t batch = 32;  // images per forward pass
};

// One concept's test.
struct TcavConcept {
  std::string name;
  std::vector<double> scores;  // the TCAV score of each run: the fraction of the class's images
                               // whose logit rises along the run's CAV
  double mean = 0, std = 0;    // of the scores (std with n - 1)
  // The balanced accuracy of each run's CAV on the concept's and random images the run did not
  // draw, and their mean: how well the layer tells the concept from random images.
  std::vector<double> cav_accuracies;
  double cav_accuracy = 0;
  double t = 0, p_value = 1;  // two-sided Student t-test of the scores against the null ones
  bool significant = false;
};

struct TcavResult {
  std::string layer;     // the layer's value name
  int64_t target = 0;    // the class
  int64_t images = 0;    // of the class, scored
  int64_t examples = 0;  // per side of each CAV
  // The null: the scores of CAVs of random images against other random images, one per run.
  std::vector<double> random_scores;
  double random_mean = 0, random_std = 0;
  double threshold = 0.05;  // what p must be below: alpha, over the concepts with bonferroni
  std::vector<TcavConcept> concepts;
};

// TCAV of `concepts` at `layer` for the class `target` of `images` (the class's images, [N, C, H,
// W]; a rank target must resolve to one class for all of them). For each run r, `examples` images
// of each concept and two disjoint sets R_r, R'_r of as many from the pool `random` are drawn;
// the CAV of a concept is the unit normal of an L2-regularised logistic regression separating its
// activations at the layer from R_r's, and the null CAV separates R'_r's from R_r's. A score is the
// fraction of the class's images x whose directional derivative grad_A logit_target(x) . CAV is
// positive. Throws ArgumentError (runs < 2, too few images for the examples, a rank target that
// resolves to several classes), LookupError (an unknown layer), InputError (images the model does
// not take, concept and random activations that no hyperplane separates), NumericalError
// (activations or gradients at the layer that are not finite).
TcavResult tcav(const Model& model, const std::string& layer,
                const std::vector<ConceptExamples>& concepts, const at::Tensor& random,
                const at::Tensor& images, const Target& target, const TcavOptions& options = {});

// The images of a folder (image_files: sorted by name) as model inputs [N, 3, H, W]. Throws
// FileError (no such folder), InputError (a folder without images, an image that cannot be read).
at::Tensor read_inputs(const std::filesystem::path& folder, const Preprocessing& preprocessing);

// A concept activation vector: an L2-regularised logistic regression on activations, fitted by
// Newton's method in the span of the examples (deterministic, exact with more features than
// examples), from the activations of each side, rows [n, D] of any floating type. The penalty is
// `regularisation` times the examples' mean squared distance from their mean. Throws
// ArgumentError, InputError (rows of other shapes, values that are not finite, examples that all
// have the same activations).
struct Cav {
  at::Tensor direction;  // [D] float64, unit length
  double bias = 0;       // x . direction + bias > 0 on the positive side
  double length = 0;     // of the fitted weights, length * direction
};
Cav fit_cav(const at::Tensor& positive, const at::Tensor& negative, double regularisation = 0.01);

// Student's t-test of two samples with equal variances (scipy.stats.ttest_ind): t, its degrees of
// freedom n_a + n_b - 2 and the two-sided p-value. Two samples without spread: p = 0 where their
// means differ, 1 where they agree. Throws ArgumentError for fewer than two values in either.
struct TTest {
  double t = 0, df = 0, p_value = 1;
};
TTest t_test(const std::vector<double>& a, const std::vector<double>& b);

// The Student t distribution's CDF with `df` > 0 degrees of freedom, and the regularised
// incomplete beta function I_x(a, b) (a, b > 0, x in [0, 1]) it is computed from (a continued
// fraction, to about 1e-15 relative).
double student_t_cdf(double t, double df);
double incomplete_beta(double a, double b, double x);

}  // namespace whitebox
