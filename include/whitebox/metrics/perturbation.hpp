#pragma once
// What the perturbation metrics share: what replaces a removed pixel, which score they follow,
// and the curve of that score.
#include <cstdint>
#include <string>
#include <vector>

namespace whitebox::metrics {

// What replaces a removed pixel (all channels of it).
enum class Substitution {
  Blur,     // the pixel of a Gaussian-blurred copy of the image (PerturbationOptions::blur_sigma)
  Mean,     // the image's per-channel mean
  Zero,     // 0 in the model input (for a normalised input: the data set's mean colour)
  Uniform,  // uniform noise between the lowest and highest value of each channel in the image
};
// "blur", "mean", "zero", "uniform"; throws LookupError.
Substitution parse_substitution(const std::string& name);
std::string to_string(Substitution substitution);

// What the curves follow.
enum class Score {
  Probability,  // softmax probability of the class
  Logit,        // the class's logit
};

// A score after perturbing a growing fraction of the input, and the area under it (trapezoid
// rule over `fraction`, which starts at 0; deletion and insertion run to 1).
struct Curve {
  std::vector<double> fraction;
  std::vector<double> score;
  double auc = 0;
};

}  // namespace whitebox::metrics
