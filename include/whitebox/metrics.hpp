#pragma once
// Metrics of explanation maps: faithfulness to the model, localisation against annotations,
// robustness, complexity, and agreement with human attention maps. Definitions, formulas and
// papers: docs/metrics.md.
//
// Conventions: `image` is one model input [C, H, W] (normalised, as Model::logits takes it);
// `map` is one explanation map [H, W] over the input's pixels; `mask` is a [H, W] bool tensor;
// every tensor may live on any device (results come back as doubles). Random draws come from
// a generator seeded by the options, so results are reproducible; overloads that take the
// perturbations explicitly exist for tests and for sharing draws between methods.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox::metrics {

// ---------------------------------------------------------------------------------------------
// Faithfulness

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
// Non-sensitivity (Nguyen & Martinez 2020): the share of regions where exactly one of a_r <= eps
// and v_r <= eps holds (relevance on what does not matter, or none on what does). Lower is
// better.
inline constexpr double kNonSensitivityEps = 1e-5;
double non_sensitivity(const RegionEffects& effects, double eps = kNonSensitivityEps);

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
// Completeness (Sundararajan et al. 2017): |sum(map) - (y(x) - y(0))| / |y(x) - y(0)|, y the
// class logit and 0 the all-zero input; the absolute gap when y(x) = y(0).
double completeness_gap(const Model& model, const at::Tensor& image, const at::Tensor& map,
                        int64_t cls);

// ---------------------------------------------------------------------------------------------
// Localisation: the map against a [H, W] bool mask of the object (boxes become masks).

// An axis-aligned box in pixel coordinates of the model input: a pixel (row i, column j) is
// inside when its centre (j + 0.5, i + 0.5) is within [x0, x1] x [y0, y1].
struct Box {
  double x0, y0, x1, y1;
};
at::Tensor box_mask(const std::vector<Box>& boxes, int64_t height, int64_t width);
// Annotations of the original photo (height x width pixels) on the model input: the central
// square crop and the resize that preprocess() applies.
Box box_to_input(const Box& box, int64_t image_height, int64_t image_width,
                 const Preprocessing& preprocessing);
// A [H, W] plane of the photo (mask, attention map), cropped and resized bilinearly; float64.
at::Tensor plane_to_input(const at::Tensor& plane, const Preprocessing& preprocessing);

// Pointing game (Zhang et al. 2016): a hit when the map's maximum (first in row-major order)
// lies within `tolerance_px` (Euclidean) of a mask pixel.
inline constexpr double kPointingGameTolerance = 15;
bool pointing_game(const at::Tensor& map, const at::Tensor& mask,
                   double tolerance_px = kPointingGameTolerance);
// Energy-based pointing game (Wang et al. 2020): sum of the positive map in the mask over the
// sum of the positive map.
double energy_pointing_game(const at::Tensor& map, const at::Tensor& mask);
// Relevance mass accuracy (Arras et al. 2022): the same ratio, named as in CLEVR-XAI.
double relevance_mass_accuracy(const at::Tensor& map, const at::Tensor& mask);
// Relevance rank accuracy (Arras et al. 2022): share of the K highest map pixels inside the
// mask, K = the mask's pixel count.
double relevance_rank_accuracy(const at::Tensor& map, const at::Tensor& mask);
// Intersection over union of {map >= threshold * max(map)} and the mask.
inline constexpr double kIouThreshold = 0.5;
double iou(const at::Tensor& map, const at::Tensor& mask, double threshold = kIouThreshold);
// Top-k intersection (Theiner et al. 2021): share of the k highest map pixels (ties in row-major
// order) inside the mask; k is at most the map's pixel count.
double top_k_intersection(const at::Tensor& map, const at::Tensor& mask, int64_t k);
// Localisation AUC (Fawcett 2006, as Quantus uses it): the ROC area of the map as a score for
// the mask's pixels, the probability that a mask pixel outranks a pixel outside (ties half).
double localisation_auc(const at::Tensor& map, const at::Tensor& mask);

// ---------------------------------------------------------------------------------------------
// Robustness: the explanation method re-run on perturbed inputs.

// An explanation method as a function: inputs [N, C, H, W] -> maps [N, H, W].
using Explainer = std::function<at::Tensor(const at::Tensor& inputs)>;
// The same for a class given with the call.
using ClassExplainer = std::function<at::Tensor(const at::Tensor& inputs, int64_t cls)>;

struct RobustnessOptions {
  int64_t samples = 16;
  double radius = 0.02;   // half-width of the uniform L-infinity noise (input units)
  int64_t batch = 8;      // perturbed inputs per call of the explainer
  bool normalize = true;  // sensitivities relative to ||map(x)||
  uint64_t seed = 0;
};
struct Sensitivity {
  double max = 0;      // max-sensitivity (Yeh et al. 2019): max_d ||map(x + d) - map(x)||
  double average = 0;  // average sensitivity: the mean over the samples
};
Sensitivity sensitivity(const Explainer& explainer, const at::Tensor& image,
                        const RobustnessOptions& options = {});
// The same with given perturbations d [N, C, H, W].
Sensitivity sensitivity(const Explainer& explainer, const at::Tensor& image,
                        const at::Tensor& perturbations, const RobustnessOptions& options);
// Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018):
// max_d ||map(x + d) - map(x)|| / ||d||, d Gaussian with std `radius`.
double local_lipschitz(const Explainer& explainer, const at::Tensor& image,
                       const RobustnessOptions& options = {});
double local_lipschitz(const Explainer& explainer, const at::Tensor& image,
                       const at::Tensor& perturbations, const RobustnessOptions& options);

// Continuity (Montavon, Samek & Muller 2018): the strongest variation of the map under
// translation, max_k ||map(x_k) - map(x)||_1 / ||x_k - x||_2, x_k the image moved right by
// k * step pixels (the uncovered columns 0), k = 1..steps. Lower is better.
struct ContinuityOptions {
  int64_t steps = 8;
  int64_t step = 2;  // pixels
  int64_t batch = 8;
};
double continuity(const Explainer& explainer, const at::Tensor& image,
                  const ContinuityOptions& options = {});
// The translations as perturbations x_k - x [steps, C, H, W].
at::Tensor translations(const at::Tensor& image, const ContinuityOptions& options = {});
// Relative stability (Agarwal et al. 2022): over perturbations x' = x + d that keep the predicted
// class, the largest relative change of the map, ||(e(x) - e(x')) / e(x)||, over the relative
// change of the input (RIS), of the logits (ROS), or of an internal representation (RRS: the
// value named `layer`, by default the last feature map before pooling); element-wise divisions
// by 0 divide by `eps` instead, and a denominator is at least `eps`. Lower is better.
struct StabilityOptions {
  int64_t samples = 16;
  double radius = 0.02;  // half-width of the uniform L-infinity noise (input units)
  int64_t batch = 8;
  double eps = 1e-6;
  uint64_t seed = 0;
  std::string layer;  // RRS's representation; empty: the last spatial feature map
};
struct RelativeStability {
  double input = 0, output = 0, representation = 0;  // RIS, ROS, RRS
  int64_t kept = 0;  // perturbations that kept the class (0: every value is 0)
};
RelativeStability relative_stability(const Model& model, const Explainer& explainer,
                                     const at::Tensor& image, const StabilityOptions& options = {});
// The same with given perturbations d [N, C, H, W].
RelativeStability relative_stability(const Model& model, const Explainer& explainer,
                                     const at::Tensor& image, const at::Tensor& perturbations,
                                     const StabilityOptions& options);

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Randomisation (see also whitebox/randomisation.hpp for the sanity checks over a model).

// The class the random-logit test explains instead of `cls`: uniform over the other classes,
// drawn from `seed`.
int64_t random_other_class(int64_t cls, int64_t classes, uint64_t seed);
// Random logit (Sixt, Granz & Landgraf, ICML 2020): SSIM between `map`, the explanation of `cls`,
// and the explanation of random_other_class(). Lower is better: a class-discriminative map
// changes with the class.
double random_logit_similarity(const Model& model, const ClassExplainer& explainer,
                               const at::Tensor& image, const at::Tensor& map, int64_t cls,
                               uint64_t seed = 0);

// ---------------------------------------------------------------------------------------------
// Localisation without annotations.
// Focus (Arias-Duart, Pares, Garcia-Gasulla & Gimenez-Abalos 2022): the image, shrunk to half
// size, in the top-left and bottom-right quadrants of a mosaic of the input's size, and two
// images of other classes in the other two; the share of the positive part of the method's map
// of the mosaic that falls on the image's quadrants. 0.5 for a map blind to the class; higher is
// better.
double focus(const ClassExplainer& explainer, const at::Tensor& image,
             const at::Tensor& first_other, const at::Tensor& second_other, int64_t cls);
// The mosaic [C, H, W] of three images of one size [C, H, W] (each shrunk by averaging).
at::Tensor focus_mosaic(const at::Tensor& image, const at::Tensor& first_other,
                        const at::Tensor& second_other);
// ---------------------------------------------------------------------------------------------
// Input invariance (Kindermans et al. 2019).
// A copy of the model for inputs shifted by `shift`: its first parameter layer (a Conv or Gemm
// that reads the graph input) is followed by the constant -layer(shift), computed without bias
// on an input of `height` x `width`, so that shifted(x + shift) = model(x) at every position,
// zero padding included. Throws ArgumentError when the first layer does not read the input.
Model shifted_input_model(const Model& model, double shift, int64_t height, int64_t width);
// The relative L1 difference sum |map' - map| / sum |map| between the map of the image and the
// map `shifted_explainer` (the method on shifted_input_model) gives for image + shift: 0 for an
// input-invariant method (gradients, CAMs), not for those that multiply by the input or
// integrate from a fixed baseline. Lower is better.
inline constexpr double kInvarianceShift = -1.0;
double input_invariance(const ClassExplainer& shifted_explainer, const at::Tensor& image,
                        const at::Tensor& map, int64_t cls, double shift = kInvarianceShift);
// ---------------------------------------------------------------------------------------------
// Over a data set: the explanations of many images compared with each other.

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

// The 95% interval of the mean of `values` (at least 2, finite), inside their range, so inside
// any metric's bounds: Wilson's score interval for shares (every value 0 or 1), else the
// percentile bootstrap (2000 resamples, seeded: the same values give the same interval).
std::pair<double, double> mean_interval95(const std::vector<double>& values);

// ---------------------------------------------------------------------------------------------
// Complexity of |map|.

// Gini index of |map| (Chalasani et al. 2020): 0 for a uniform map, (n - 1) / n for one pixel.
double sparseness(const at::Tensor& map);
// Entropy (natural log) of |map| / sum |map| (Bhatt et al. 2020): log n for a uniform map.
double entropy(const at::Tensor& map);
// Effective complexity (Nguyen & Martinez 2020): the share of pixels with |map| > eps.
inline constexpr double kEffectiveComplexityEps = 1e-5;
double effective_complexity(const at::Tensor& map, double eps = kEffectiveComplexityEps);

// ---------------------------------------------------------------------------------------------
// Agreement with a human attention map (fixation density) of the same size. Maps become
// distributions by min-shift and division by the sum.

double pearson(const at::Tensor& map, const at::Tensor& reference);        // CC; 0 if constant
double similarity(const at::Tensor& map, const at::Tensor& reference);     // SIM, sum min(P, Q)
double kl_divergence(const at::Tensor& map, const at::Tensor& reference);  // KL(reference || map)
// Normalised scanpath saliency: mean of the standardised map at the fixations ([H, W] bool).
double nss(const at::Tensor& map, const at::Tensor& fixations);
// AUC-Judd: ROC area of the map as a classifier of fixated pixels, thresholds at the map's
// values on the fixations.
double auc_judd(const at::Tensor& map, const at::Tensor& fixations);
// Fixations from a density: pixels at or above `threshold` times the maximum.
inline constexpr double kFixationThreshold = 0.5;
at::Tensor fixations_of(const at::Tensor& reference, double threshold = kFixationThreshold);

// ---------------------------------------------------------------------------------------------
// The metrics by name, for the CLI and reports.

// Everything one image offers to a metric; a metric reads what it needs.
struct Sample {
  const Model* model = nullptr;
  at::Tensor image;  // [C, H, W]
  at::Tensor map;    // [H, W]
  int64_t cls = 0;
  at::Tensor mask;       // [H, W] bool, undefined without an annotation
  at::Tensor reference;  // [H, W] human attention map, undefined without one
  // The method that made `map` and its hyper-parameters, so that a metric can re-run it on
  // perturbed inputs, for another class or on a modified model; empty when it cannot be re-run.
  std::string method;
  Params method_params;
  // Images of the data set for Focus's mosaic: `count` model inputs [count, C, H, W] of classes
  // other than `cls`; empty outside a data-set run.
  std::function<at::Tensor(int64_t count)> other_images;
  // Where a metric that follows a perturbation curve also leaves it, when the caller wants the
  // curves, by curve name (MetricInfo::curves); null otherwise.
  std::map<std::string, Curve>* curves = nullptr;
};

// A metric over the whole data set (sufficiency, MeGe): observe() runs for each image, on
// whichever process explains it, and returns the numbers the metric keeps of it; combine() reads
// every image's observations, in the data set's order, and returns the values of each image (NaN
// where there is none) and those that exist only for the whole set.
struct DatasetValues {
  std::vector<std::map<std::string, double>> per_image;
  std::map<std::string, double> overall;
};
struct DatasetStep {
  std::function<std::vector<double>(const Sample&, const Params&)> observe;
  std::function<DatasetValues(const std::vector<std::vector<double>>&, const Params&)> combine;
};

enum class Group {
  Faithfulness,
  Localisation,
  Robustness,
  Complexity,
  Agreement,
  Axiomatic,
  Randomisation
};
std::string to_string(Group group);

struct MetricInfo {
  std::string name;  // "deletion", "pointing-game", ...
  Group group;
  std::string summary;
  std::string citation;
  bool needs_model = false;
  bool needs_mask = false;
  bool needs_reference = false;
  bool needs_explainer = false;
  // The values it reports, each with whether higher is better: "deletion" -> {"deletion_auc"}.
  std::vector<std::pair<std::string, bool>> values;
  // The perturbation curves it also leaves in Sample::curves when asked: "deletion", "morf", ...
  std::vector<std::string> curves;
  // Options by name (steps, substitution, batch, ...), as for methods: every key run() reads.
  // One image's values; unset for a metric over the data set, which has `dataset` instead.
  std::function<std::map<std::string, double>(const Sample&, const Params&)> run;
  // Several images in one call, where the metric can share forward passes between them (the
  // same values as run() on each); unset otherwise.
  std::function<std::vector<std::map<std::string, double>>(const std::vector<Sample>&,
                                                           const Params&)>
      run_batch;
  std::vector<Hyperparameter> parameters;
  DatasetStep dataset;
  bool over_dataset() const { return static_cast<bool>(dataset.combine); }
};

const std::vector<MetricInfo>& registry();
// What a data-set evaluation measures when not told (`whitebox evaluate`, whitebox.evaluate).
inline constexpr const char* kEvaluateMethods = "saliency,gradcam";
inline constexpr const char* kEvaluateMetrics = "deletion,insertion,sparseness";
// By name; throws LookupError listing the valid names.
const MetricInfo& find_metric(const std::string& name);
// A metric over `samples`, one per image: observed one by one, then combined.
DatasetValues evaluate_dataset(const MetricInfo& metric, const std::vector<Sample>& samples,
                               const Params& params);
// Throws ArgumentError for a key of `params` that none of `metrics` takes (naming the valid ones
// and the closest), or a value outside its declared type and range.
void check_parameters(const std::vector<std::string>& metrics, const Params& params);

}  // namespace whitebox::metrics
