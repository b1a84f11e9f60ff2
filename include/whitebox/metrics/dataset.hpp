#pragma once
// Over a data set: the explanations of many images compared with each other.
// Conventions (shapes, devices, random draws): whitebox/metrics.hpp.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace whitebox::metrics {

// What sufficiency and consistency compare of a map: |map| averaged over a `grid` x `grid`
// partition (adaptive pooling: cells differ by at most one pixel), divided by its maximum (an
// all-zero map stays 0); [grid * grid] float64 on the CPU.
at::Tensor grid_profile(const at::Tensor& map, int64_t grid);
// Local sufficiency (Dasgupta, Frost & Moshkovitz, ICML 2022, as Quantus approximates it): the
// explanation of image j applies to image i when the standardised Euclidean distance of their
// profiles (each coordinate divided by its variance over the images, constant ones left out),
// divided by the largest distance between two images, is at most `threshold`; the share of the
// other images it applies to that have i's predicted class. profiles [N, D], one prediction per
// row; NaN for an image no other explanation applies to. The mean is global sufficiency; higher
// is better.
inline constexpr double kSufficiencyThreshold = 0.6;
std::vector<double> sufficiency(const at::Tensor& profiles, const std::vector<int64_t>& predictions,
                                double threshold = kSufficiencyThreshold);
// Local consistency (Dasgupta et al. 2022): each profile discretised to the set of its `top`
// highest coordinates (ties to the lower index); the share of the other images with the same set
// that have i's predicted class; NaN for an image whose set no other image has. Higher is better.
inline constexpr int64_t kConsistencyTop = 2;
std::vector<double> consistency(const at::Tensor& profiles, const std::vector<int64_t>& predictions,
                                int64_t top = kConsistencyTop);

// MeGe and ReCo (Fel, Vigouroux, Cadene & Serre, WACV 2022): the maps of one image by models
// trained on different data, compared pairwise by the Spearman distance sqrt(1 - |rho|).
double spearman_distance(const at::Tensor& a, const at::Tensor& b);
// A pair is agreeing when both models predict the true class, disagreeing when exactly one does.
// MeGe = 1 / (1 + mean agreeing distance): higher, the explanations generalise across models.
// ReCo = max over thresholds g of TPR + TNR - 1, TPR the share of agreeing pairs at distance <= g,
// TNR the share of disagreeing ones above g (every distance tried): higher, the distance tells
// agreeing models from disagreeing ones. NaN where a set needed is empty.
struct Generalisation {
  double mege = 0, reco = 0;
};
Generalisation generalisation(const std::vector<double>& agreeing,
                              const std::vector<double>& disagreeing);

}  // namespace whitebox::metrics
