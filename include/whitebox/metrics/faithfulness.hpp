#pragma once
// Faithfulness: what happens to the model's score when the pixels a map calls relevant are
// removed, perturbed or kept. Definitions, formulas and papers: docs/metrics.md.
// Conventions (shapes, devices, random draws): whitebox/metrics.hpp.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "whitebox/explain.hpp"
#include "whitebox/metrics/explainer.hpp"
#include "whitebox/metrics/perturbation.hpp"

namespace whitebox::metrics {

struct PerturbationOptions {
  int64_t steps = 224;  // curve points after the unperturbed one: steps + 1 network inputs
  Substitution substitution = Substitution::Blur;
  int64_t batch = 32;  // perturbed inputs per forward pass
  Score score = Score::Probability;
  double blur_sigma = 5.0;  // pixels, for Substitution::Blur
  uint64_t seed = 0;        // for Substitution::Uniform
};

// Deletion (Petsiuk et al. 2018): pixels are removed in decreasing order of the map (ties in
// row-major order); after step k, round(k H W / steps) pixels are removed. Lower AUC is better.
Curve deletion(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
               const PerturbationOptions& options = {});
// Insertion: starts from the fully substituted image and puts pixels back in the same order.
// Higher AUC is better.
Curve insertion(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                const PerturbationOptions& options = {});
// Several images at once, images [N, C, H, W] and maps [N, H, W] with a class each: the same
// curves as one call per image, their perturbed inputs sharing the network's batches (8 images
// of 33 inputs in 9 passes of 32 rather than 16).
std::vector<Curve> deletion(const Model& model, const at::Tensor& images, const at::Tensor& maps,
                            const std::vector<int64_t>& classes,
                            const PerturbationOptions& options = {});
std::vector<Curve> insertion(const Model& model, const at::Tensor& images, const at::Tensor& maps,
                             const std::vector<int64_t>& classes,
                             const PerturbationOptions& options = {});
// Monotonicity (Arya et al. 2019): pixels put back least relevant first, in `steps` steps, from
// the substitute; the share of steps at which the score does not fall (1: monotonic).
double monotonicity(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                    const PerturbationOptions& options = {});
// Its curve (insertion, least relevant first), and the share of its steps that do not fall.
Curve monotonicity_curve(const Model& model, const at::Tensor& image, const at::Tensor& map,
                         int64_t cls, const PerturbationOptions& options = {});
double monotonicity(const Curve& curve);

// Pixel flipping (Samek et al. 2017) over square regions ranked by their summed relevance.
struct FlippingOptions {
  int64_t region = 8;   // side of the square regions, pixels
  int64_t steps = 100;  // regions flipped (capped at the number of regions)
  Substitution substitution = Substitution::Uniform;
  int64_t batch = 32;
  Score score = Score::Probability;
  double blur_sigma = 5.0;
  uint64_t seed = 0;
};
struct Flipping {
  Curve morf, lerf;  // most / least relevant first; fraction = share of the regions flipped
  double aopc_morf = 0, aopc_lerf = 0;  // (1 / (L + 1)) sum_{k=0..L} (f(x) - f(x_k))
};
Flipping pixel_flipping(const Model& model, const at::Tensor& image, const at::Tensor& map,
                        int64_t cls, const FlippingOptions& options = {});
// The area over a perturbation curve s_0..s_L: (1 / (L + 1)) sum_k (s_0 - s_k).
double aopc(const Curve& curve);
// One of the two curves alone: region perturbation (Samek et al. 2017); the AUC of its MoRF curve
// is selectivity (Montavon et al. 2018), lower is better.
Curve region_perturbation(const Model& model, const at::Tensor& image, const at::Tensor& map,
                          int64_t cls, const FlippingOptions& options = {},
                          bool most_relevant_first = true);

// IROF, iterative removal of features (Rieger & Hansen 2020): superpixels ranked by their mean
// relevance are substituted most relevant first, one more at each step; the area over the curve
// of s_k / s_0 against the share k / S of segments substituted (S + 1 points). Higher is better.
struct IrofOptions {
  int64_t region = 32;  // SLIC superpixel side, pixels
  double ruler = 10.0;  // SLIC compactness
  Substitution substitution = Substitution::Mean;
  int64_t batch = 32;
  Score score = Score::Probability;
  double blur_sigma = 5.0;
  uint64_t seed = 0;
};
double irof(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
            const IrofOptions& options = {});
// The same with given segment labels [H, W] (integers).
double irof(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
            const at::Tensor& segments, const IrofOptions& options);
// The curve under it (IROF = 1 - its area): s_k / s_0 against the share of segments substituted.
Curve irof_curve(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                 const IrofOptions& options = {});
Curve irof_curve(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                 const at::Tensor& segments, const IrofOptions& options);

// ROAD, RemOve And Debias (Rong et al. 2022): the removed pixels are re-filled by noisy linear
// imputation (each removed pixel the weighted mean of its 8 neighbours, solved jointly, plus
// Gaussian noise), so that the removal pattern itself carries no class information.
struct RoadOptions {
  std::vector<double> fractions{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  bool most_relevant_first = true;  // MoRF (lower is better); false: LeRF (higher is better)
  double noise = 0.01;              // std of the noise added to imputed values (input units)
  int64_t batch = 32;
  Score score = Score::Probability;
  uint64_t seed = 0;
  double tolerance = 1e-6;  // relative residual of the iterative imputation solve
};
// The curve starts at fraction 0 (the unperturbed image).
Curve road(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
           const RoadOptions& options = {});
// ROAD's combined score (as pytorch-grad-cam reports it): the mean over the fractions after 0 of
// (LeRF score - MoRF score) / 2, for two curves over the same fractions. Higher is better.
double road_combined(const Curve& morf, const Curve& lerf);
// The imputation alone: `image` [C, H, W] with the pixels of `removed` [H, W] (bool) replaced by
// the linear imputation (noise 0 gives the deterministic solution).
at::Tensor impute_linear(const at::Tensor& image, const at::Tensor& removed, double noise = 0.0,
                         uint64_t seed = 0, double tolerance = 1e-6);

// Random pixel subsets, as [N, H, W] bool masks, for the correlation metrics below.
at::Tensor random_subsets(int64_t count, int64_t subset_size, int64_t height, int64_t width,
                          uint64_t seed);

struct CorrelationOptions {
  int64_t samples = 100;      // random subsets
  int64_t subset_size = 224;  // pixels per subset
  Substitution substitution = Substitution::Zero;
  int64_t batch = 32;
  Score score = Score::Probability;
  double blur_sigma = 5.0;
  uint64_t seed = 0;
};
// Faithfulness correlation (Bhatt et al. 2020): Pearson correlation, over random subsets S,
// between sum_{i in S} map_i and f(x) - f(x with S substituted). Higher is better.
double faithfulness_correlation(const Model& model, const at::Tensor& image, const at::Tensor& map,
                                int64_t cls, const CorrelationOptions& options = {});
// The same with given subsets [N, H, W] (bool).
double faithfulness_correlation(const Model& model, const at::Tensor& image, const at::Tensor& map,
                                int64_t cls, const at::Tensor& subsets,
                                const CorrelationOptions& options);

// MuFidelity (Bhatt et al. 2020, as Xplique computes it): the faithfulness correlation over
// random sets of grid cells: the image cut into `grid` x `grid` cells, each sample substitutes
// round(subset_fraction * grid^2) of them.
struct MuFidelityOptions {
  int64_t samples = 200;
  int64_t grid = 9;
  double subset_fraction = 0.2;
  Substitution substitution = Substitution::Zero;
  int64_t batch = 32;
  Score score = Score::Probability;
  double blur_sigma = 5.0;
  uint64_t seed = 0;
};
double mufidelity(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                  const MuFidelityOptions& options = {});
// The cell subsets as pixel masks [samples, H, W] (bool).
at::Tensor grid_subsets(const MuFidelityOptions& options, int64_t height, int64_t width);

// What each square region does to the score: the summed |map| of region r, a_r, and its effect
// v_r, the mean over `samples` draws of (s(x) - s(x with r replaced by uniform noise in each
// channel's range))^2 (Nguyen & Martinez 2020).
struct RegionEffectOptions {
  int64_t region = 28;  // side of the square regions, pixels
  int64_t samples = 4;  // noise draws per region
  int64_t batch = 32;
  Score score = Score::Probability;
  uint64_t seed = 0;
};
struct RegionEffects {
  at::Tensor relevance;  // [R] float64, CPU
  at::Tensor effect;     // [R]
};
RegionEffects region_effects(const Model& model, const at::Tensor& image, const at::Tensor& map,
                             int64_t cls, const RegionEffectOptions& options = {});
// The same with given noise images [K, C, H, W] (options.samples unused).
RegionEffects region_effects(const Model& model, const at::Tensor& image, const at::Tensor& map,
                             int64_t cls, const at::Tensor& noise,
                             const RegionEffectOptions& options);
// Monotonicity correlation (Nguyen & Martinez 2020): Spearman correlation of a_r and v_r.
// Higher is better.
double monotonicity_correlation(const RegionEffects& effects);

// Sensitivity-n (Ancona et al. 2018): the faithfulness correlation for each subset size n.
struct SensitivityN {
  std::vector<int64_t> n;
  std::vector<double> correlation;
};
SensitivityN sensitivity_n(const Model& model, const at::Tensor& image, const at::Tensor& map,
                           int64_t cls, const std::vector<int64_t>& sizes,
                           const CorrelationOptions& options = {});

// Infidelity (Yeh et al. 2019): E_I[(I . map - (f(x) - f(x - I)))^2] over perturbations I.
// The map ([H, W], applied to every channel, or [C, H, W]) is first scaled by the least-squares
// factor beta = E[(I . map) d] / E[(I . map)^2] when `normalize` is set, so that only its shape
// is judged. Lower is better.
struct InfidelityOptions {
  int64_t samples = 64;
  double noise = 0.1;  // std of the Gaussian perturbations (input units)
  bool normalize = true;
  int64_t batch = 32;
  Score score = Score::Logit;
  uint64_t seed = 0;
};
double infidelity(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                  const InfidelityOptions& options = {});
// The same with given perturbations I [N, C, H, W].
double infidelity(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                  const at::Tensor& perturbations, const InfidelityOptions& options);

// Change in confidence (Chattopadhay et al. 2018): p, the softmax probability of the class, for
// the image and for the image times the map min-max normalised to [0, 1]: drop = max(0, p -
// p_masked) / p, and whether the masked image is more confident.
struct ConfidenceChange {
  double drop = 0;
  bool increase = false;
};
ConfidenceChange confidence_change(const Model& model, const at::Tensor& image,
                                   const at::Tensor& map, int64_t cls);

// ARCC (pytorch-grad-cam 1.5, arXiv:2605.14641): three properties of a map in one number. With m
// the map min-max scaled to [0, 1] (0 for a constant map):
//   complexity = mean(m), lower is sparser;
//   coherency = (Pearson(m', m) + 1) / 2, m' the explainer's map of the image multiplied by m,
//     scaled alike: the map explains the evidence it keeps;
//   road = clip(2 road_combined, 0, 1) over the options' fractions (ROAD with MoRF and LeRF).
// ARCC = (coherency (1 - complexity) road)^(1/3), the geometric mean the paper defines; harmonic =
// 3 / (1 / coherency + 1 / (1 - complexity) + 1 / road), what pytorch-grad-cam's code computes
// (0 when a term is 0). Higher is better for both.
struct Arcc {
  double arcc = 0, harmonic = 0, coherency = 0, complexity = 0, road = 0;
};
// The fractions of pytorch-grad-cam's ARCC: 0.2, 0.4, 0.6, 0.8.
RoadOptions arcc_road_options();
Arcc arcc(const Model& model, const ClassExplainer& explainer, const at::Tensor& image,
          const at::Tensor& map, int64_t cls, const RoadOptions& road = arcc_road_options());

}  // namespace whitebox::metrics
