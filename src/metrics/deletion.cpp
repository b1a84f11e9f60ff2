// Deletion and insertion curves (Petsiuk, Das & Saenko, RISE, BMVC 2018), and monotonicity
// (Arya et al. 2019): insertion least relevant first.
#include <cmath>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/faithfulness.hpp"

namespace whitebox::metrics {
namespace {

// Deletion removes the first `count` pixels of the order (most relevant first, or least) from the
// image; insertion starts from the substitute and puts them back. Both are one `where` per batch
// over the rank of each pixel. The images' perturbed inputs share the network's batches.
std::vector<Curve> perturbation_curves(const Model& model, const std::vector<at::Tensor>& images_in,
                                       const std::vector<at::Tensor>& maps,
                                       const std::vector<int64_t>& classes,
                                       const PerturbationOptions& options, bool insert,
                                       bool most_relevant_first = true) {
  const std::string metric = insert ? "insertion" : "deletion";
  detail::require_at_least(options.steps, 1, metric + " steps");
  // Per image: the pixels' ranks, what replaces them, and the count removed at each step.
  struct Plan {
    at::Tensor before, after, rank, counts;
  };
  std::vector<Plan> plans;
  std::vector<Curve> curves(images_in.size());
  for (size_t i = 0; i < images_in.size(); ++i) {
    detail::check_image_and_map(images_in[i], maps[i], metric);
    const at::Tensor image = detail::as_model_input(model, images_in[i]);
    const int64_t pixels = image.size(1) * image.size(2);
    const at::Tensor replacement =
        detail::substitute(image, options.substitution, options.blur_sigma, options.seed);
    std::vector<int64_t> counts;
    for (int64_t k = 0; k <= options.steps; ++k) {
      counts.push_back(std::llround(static_cast<double>(k) * pixels / options.steps));
      curves[i].fraction.push_back(static_cast<double>(counts.back()) / pixels);
    }
    plans.push_back({insert ? replacement : image,  // where the order has not reached yet
                     insert ? image : replacement,
                     detail::pixel_rank(maps[i].to(image.device(), at::kDouble),
                                        most_relevant_first),
                     at::tensor(counts, at::kLong).to(image.device())});
  }
  const std::vector<std::vector<double>> scores = detail::scores_of(
      model, std::vector<int64_t>(plans.size(), options.steps + 1), options.batch, classes,
      options.score, [&](size_t i, int64_t first, int64_t size) {
        const Plan& p = plans[i];
        const at::Tensor reached =
            p.rank.unsqueeze(0) < p.counts.narrow(0, first, size).view({-1, 1, 1});
        return at::where(reached.unsqueeze(1), p.after, p.before);
      });
  for (size_t i = 0; i < curves.size(); ++i) {
    curves[i].score = scores[i];
    curves[i].auc = detail::trapezoid(curves[i].fraction, curves[i].score);
  }
  return curves;
}

Curve perturbation_curve(const Model& model, const at::Tensor& image, const at::Tensor& map,
                         int64_t cls, const PerturbationOptions& options, bool insert,
                         bool most_relevant_first = true) {
  return perturbation_curves(model, {image}, {map}, {cls}, options, insert, most_relevant_first)
      .front();
}

std::vector<Curve> curves_of(const Model& model, const at::Tensor& images, const at::Tensor& maps,
                             const std::vector<int64_t>& classes,
                             const PerturbationOptions& options, bool insert) {
  const std::string metric = insert ? "insertion" : "deletion";
  if (!images.defined() || images.dim() != 4 || !maps.defined() || maps.dim() != 3 ||
      maps.size(0) != images.size(0) || static_cast<int64_t>(classes.size()) != images.size(0)) {
    throw ArgumentError(metric + " of a batch needs images [N, C, H, W], maps [N, H, W] and N "
                                 "classes");
  }
  return perturbation_curves(model, images.unbind(0), maps.unbind(0), classes, options, insert);
}

}  // namespace

Curve deletion(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
               const PerturbationOptions& options) {
  return perturbation_curve(model, image, map, cls, options, /*insert=*/false);
}

Curve insertion(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                const PerturbationOptions& options) {
  return perturbation_curve(model, image, map, cls, options, /*insert=*/true);
}

std::vector<Curve> deletion(const Model& model, const at::Tensor& images, const at::Tensor& maps,
                            const std::vector<int64_t>& classes,
                            const PerturbationOptions& options) {
  return curves_of(model, images, maps, classes, options, /*insert=*/false);
}

std::vector<Curve> insertion(const Model& model, const at::Tensor& images, const at::Tensor& maps,
                             const std::vector<int64_t>& classes,
                             const PerturbationOptions& options) {
  return curves_of(model, images, maps, classes, options, /*insert=*/true);
}

Curve monotonicity_curve(const Model& model, const at::Tensor& image, const at::Tensor& map,
                         int64_t cls, const PerturbationOptions& options) {
  return perturbation_curve(model, image, map, cls, options, /*insert=*/true,
                            /*most_relevant_first=*/false);
}

double monotonicity(const Curve& curve) {
  int64_t rising = 0;
  for (size_t k = 1; k < curve.score.size(); ++k) rising += curve.score[k] >= curve.score[k - 1];
  return static_cast<double>(rising) / static_cast<double>(curve.score.size() - 1);
}

double monotonicity(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                    const PerturbationOptions& options) {
  return monotonicity(monotonicity_curve(model, image, map, cls, options));
}

namespace detail {
namespace {

PerturbationOptions perturbation_options(const Params& p) {
  PerturbationOptions o;
  o.steps = positive(p, "steps", o.steps);
  read_substitution_options(p, o);
  return o;
}

// Deletion or insertion of several samples of one model in shared forward passes.
std::vector<Values> curve_batch(const std::vector<Sample>& samples, const Params& p,
                                const std::string& metric, const std::string& value, bool insert) {
  if (samples.empty()) return {};
  const Model& model = model_of(samples.front(), metric);
  std::vector<at::Tensor> images, maps;
  std::vector<int64_t> classes;
  for (const Sample& s : samples) {
    if (s.model != &model) throw ArgumentError(metric + " of a batch needs one model");
    images.push_back(s.image);
    maps.push_back(s.map);
    classes.push_back(s.cls);
  }
  const PerturbationOptions options = perturbation_options(p);
  const auto curves = insert
                          ? insertion(model, at::stack(images), at::stack(maps), classes, options)
                          : deletion(model, at::stack(images), at::stack(maps), classes, options);
  std::vector<Values> values;
  for (size_t i = 0; i < samples.size(); ++i)
    values.push_back({{value, keep_curve(samples[i], metric, curves[i]).auc}});
  return values;
}

Declared perturbation_parameters() {
  const PerturbationOptions o;
  return Declared{
             integer_parameter("steps", o.steps, "curve points after the unperturbed one", 1)} +
         substitution_parameters(o);
}

}  // namespace

void add_deletion_metrics(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "deletion",
       .group = Group::Faithfulness,
       .summary = "score while the most relevant pixels are removed; area under the curve",
       .citation =
           "Petsiuk, Das & Saenko, RISE: Randomized Input Sampling for Explanation of Black-box "
           "Models, BMVC 2018",
       .needs_model = true,
       .values = {{"deletion_auc", false}},
       .curves = {"deletion"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve =
             deletion(model_of(s, "deletion"), s.image, s.map, s.cls, perturbation_options(p));
         return {{"deletion_auc", keep_curve(s, "deletion", curve).auc}};
       },
       .run_batch =
           [](const std::vector<Sample>& s, const Params& p) {
             return curve_batch(s, p, "deletion", "deletion_auc", /*insert=*/false);
           },
       .parameters = perturbation_parameters()});
  registry.push_back(
      {.name = "insertion",
       .group = Group::Faithfulness,
       .summary = "score while the most relevant pixels are put back; area under the curve",
       .citation =
           "Petsiuk, Das & Saenko, RISE: Randomized Input Sampling for Explanation of Black-box "
           "Models, BMVC 2018",
       .needs_model = true,
       .values = {{"insertion_auc", true}},
       .curves = {"insertion"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve =
             insertion(model_of(s, "insertion"), s.image, s.map, s.cls, perturbation_options(p));
         return {{"insertion_auc", keep_curve(s, "insertion", curve).auc}};
       },
       .run_batch =
           [](const std::vector<Sample>& s, const Params& p) {
             return curve_batch(s, p, "insertion", "insertion_auc", /*insert=*/true);
           },
       .parameters = perturbation_parameters()});
  registry.push_back(
      {.name = "monotonicity",
       .group = Group::Faithfulness,
       .summary = "share of the steps at which the score does not fall while pixels are put "
                  "back least relevant first (1: monotonic)",
       .citation = "Arya et al., One Explanation Does Not Fit All: A Toolkit and Taxonomy of AI "
                   "Explainability Techniques, arXiv:1909.03012, 2019",
       .needs_model = true,
       .values = {{"monotonicity", true}},
       .curves = {"monotonicity"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve = monotonicity_curve(model_of(s, "monotonicity"), s.image, s.map, s.cls,
                                                perturbation_options(p));
         return {{"monotonicity", monotonicity(keep_curve(s, "monotonicity", curve))}};
       },
       .parameters = perturbation_parameters()});
}

}  // namespace detail

}  // namespace whitebox::metrics
