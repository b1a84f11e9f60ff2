// IROF, iterative removal of features (Rieger & Hansen, ICLR Workshop 2020): superpixels instead
// of pixels, so that a removal pattern finer than the image's structures cannot fool the model.
#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics/faithfulness.hpp"

namespace whitebox::metrics {

Curve irof_curve(const Model& model, const at::Tensor& image_in, const at::Tensor& map,
                 int64_t cls, const at::Tensor& segments, const IrofOptions& options) {
  detail::check_image_and_map(image_in, map, "IROF");
  detail::check_same_plane(map, segments, "IROF", "segment labels");
  if (segments.is_floating_point()) throw InputError("IROF needs integer segment labels");
  const at::Tensor image = detail::as_model_input(model, image_in);
  const at::Tensor labels = consecutive_labels(segments.to(image.device(), at::kLong));
  const int64_t count = labels.max().item<int64_t>() + 1;
  // Each segment's mean relevance, and the step at which each pixel goes: its segment's rank.
  const at::Tensor flat = labels.reshape({-1});
  const at::Tensor sums =
      at::zeros({count}, map.options().dtype(at::kDouble).device(image.device()))
          .index_add_(0, flat, map.to(image.device(), at::kDouble).reshape({-1}));
  const at::Tensor sizes = at::bincount(flat, {}, count).to(sums.scalar_type());
  const at::Tensor step = detail::pixel_rank(sums / sizes, /*descending=*/true)
                              .index_select(0, flat)
                              .view(labels.sizes());
  const at::Tensor replacement =
      detail::substitute(image, options.substitution, options.blur_sigma, options.seed);
  const std::vector<double> scores = detail::scores_of(
      model, count + 1, options.batch, cls, options.score, [&](int64_t first, int64_t size) {
        const at::Tensor k = at::arange(first, first + size, step.options());
        return at::where((step.unsqueeze(0) < k.view({-1, 1, 1})).unsqueeze(1), replacement, image);
      });
  Curve curve;
  for (int64_t k = 0; k <= count; ++k) {
    curve.fraction.push_back(static_cast<double>(k) / static_cast<double>(count));
    // A zero unperturbed score leaves nothing to lose: a flat curve at 1 (IROF 0).
    curve.score.push_back(scores.front() == 0 ? 1.0 : scores[k] / scores.front());
  }
  curve.auc = detail::trapezoid(curve.fraction, curve.score);
  return curve;
}

Curve irof_curve(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
                 const IrofOptions& options) {
  detail::check_image_and_map(image, map, "IROF");
  return irof_curve(model, image, map, cls,
                    superpixels(image, model.preprocessing, options.region, options.ruler),
                    options);
}

double irof(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
            const at::Tensor& segments, const IrofOptions& options) {
  return 1.0 - irof_curve(model, image, map, cls, segments, options).auc;
}

double irof(const Model& model, const at::Tensor& image, const at::Tensor& map, int64_t cls,
            const IrofOptions& options) {
  return 1.0 - irof_curve(model, image, map, cls, options).auc;
}

namespace detail {
namespace {

IrofOptions irof_options(const Params& p) {
  IrofOptions o;
  o.region = positive(p, "region", o.region);
  o.ruler = p.number("ruler", o.ruler);
  read_substitution_options(p, o);
  return o;
}

Declared irof_parameters() {
  const IrofOptions o;
  return Declared{integer_parameter("region", o.region, "SLIC superpixel side, pixels", 2),
                  number_parameter("ruler", o.ruler, "SLIC compactness", 0)} +
         substitution_parameters(o);
}

}  // namespace

void add_irof_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "irof",
       .group = Group::Faithfulness,
       .summary = "area over the relative score while SLIC superpixels are removed most relevant "
                  "(by mean) first",
       .citation = "Rieger & Hansen, IROF: a low resource evaluation metric for explanation "
                   "methods, ICLR Workshop 2020",
       .needs_model = true,
       .values = {{"irof", true}},
       .curves = {"irof"},
       .run = [](const Sample& s, const Params& p) -> Values {
         const Curve curve =
             irof_curve(model_of(s, "irof"), s.image, s.map, s.cls, irof_options(p));
         return {{"irof", 1.0 - keep_curve(s, "irof", curve).auc}};
       },
       .parameters = irof_parameters()});
}

}  // namespace detail

}  // namespace whitebox::metrics
