// Relative input, output and representation stability (Agarwal et al., "Rethinking Stability for
// Attribution-based Explanations", ICLR Workshop 2022).
#include "methods/layers.hpp"
#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/robustness.hpp"

namespace whitebox::metrics {
namespace {

// ||(a - b) / a|| per row of [N, ...] against a [1, ...], a's zeros divided as eps.
at::Tensor relative_change(const at::Tensor& a, const at::Tensor& b, double eps) {
  const at::Tensor base = a.to(at::kDouble), other = b.to(base.device(), at::kDouble);
  const at::Tensor divisor = at::where(base == 0, at::full_like(base, eps), base);
  return ((base - other) / divisor).reshape({other.size(0), -1}).norm(2, 1);
}

}  // namespace

RelativeStability relative_stability(const Model& model, const Explainer& explainer,
                                     const at::Tensor& image_in, const at::Tensor& perturbations,
                                     const StabilityOptions& options) {
  if (!image_in.defined() || image_in.dim() != 3)
    throw InputError("relative stability needs an image [C, H, W]");
  if (!perturbations.defined() || perturbations.dim() != 4 ||
      perturbations.sizes().slice(1) != image_in.sizes()) {
    throw InputError("relative stability needs perturbations [N, " + c10::str(image_in.sizes()) +
                     "]");
  }
  detail::require_at_least(options.batch, 1, "the stability batch size");
  if (!(options.eps > 0)) throw ArgumentError("the stability eps must be positive");
  const at::Tensor x = detail::as_model_input(model, image_in).unsqueeze(0);
  const Trace trace = model.forward(x);
  const ValueId layer = explainers::cam_layer(
      model, trace, options.layer.empty() ? Params() : Params().set("layer", options.layer));
  const at::Tensor logits = trace[model.output()].reshape({1, -1});
  const at::Tensor features = trace[layer];
  const int64_t predicted = logits.argmax(1).item<int64_t>();
  const at::Tensor map = explainer(x).to(at::kDouble);

  RelativeStability result;
  for (int64_t first = 0; first < perturbations.size(0); first += options.batch) {
    const int64_t size = std::min(options.batch, perturbations.size(0) - first);
    const at::Tensor inputs =
        x + perturbations.narrow(0, first, size).to(x.device(), x.scalar_type());
    const Trace t = model.forward(inputs);
    const at::Tensor out = t[model.output()].reshape({size, -1});
    const at::Tensor kept = (out.argmax(1) == predicted).to(at::kCPU);
    if (!kept.any().item<bool>()) continue;
    const at::Tensor index = kept.nonzero().select(1, 0).to(x.device());
    const at::Tensor maps = explainer(inputs.index_select(0, index));
    const at::Tensor numerator = relative_change(map, maps, options.eps);
    const auto worst = [&](const at::Tensor& denominator) {
      return (numerator / denominator.clamp_min(options.eps)).max().item<double>();
    };
    result.input = std::max(result.input,
                            worst(relative_change(x, inputs.index_select(0, index), options.eps)));
    result.output = std::max(
        result.output, worst(relative_change(logits, out.index_select(0, index), options.eps)));
    result.representation =
        std::max(result.representation,
                 worst(relative_change(features, t[layer].index_select(0, index), options.eps)));
    result.kept += index.numel();
  }
  return result;
}

RelativeStability relative_stability(const Model& model, const Explainer& explainer,
                                     const at::Tensor& image, const StabilityOptions& options) {
  if (!image.defined() || image.dim() != 3)
    throw InputError("relative stability needs an image [C, H, W]");
  return relative_stability(
      model, explainer, image,
      detail::input_noise(image, options.samples, options.radius, options.seed, false, "stability"),
      options);
}

namespace detail {
namespace {

// What params "layer" gives for StabilityOptions::layer left empty: the last spatial feature map.
constexpr const char* kAutoLayer = "auto";

StabilityOptions stability_options(const Params& p) {
  StabilityOptions o;
  o.samples = positive(p, "samples", o.samples);
  o.radius = p.number("radius", o.radius);
  o.batch = positive(p, "batch", o.batch);
  o.eps = p.number("eps", o.eps);
  o.seed = seed_option(p, o.seed);
  o.layer = p.text("layer", kAutoLayer);
  if (o.layer == kAutoLayer) o.layer.clear();
  return o;
}

Declared stability_parameters() {
  const StabilityOptions o;
  return Declared{integer_parameter("samples", o.samples, "perturbed inputs", 1),
                  number_parameter("radius", o.radius,
                                   "half-width of the uniform L-infinity noise (input units)", 0),
                  number_parameter("eps", o.eps, "smallest divisor", 0),
                  {"layer", kAutoLayer,
                   "RRS's representation: a value name (default: the last spatial feature map)"}} +
         common_parameters(o);
}

}  // namespace

void add_relative_stability_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "relative-stability",
       .group = Group::Robustness,
       .summary = "largest relative change of the map over the relative change of the input "
                  "(RIS), of the logits (ROS) and of the last feature map (RRS), under uniform "
                  "noise that keeps the predicted class",
       .citation = "Agarwal, Johnson, Pawelczyk, Krishna, Saxena, Zitnik & Lakkaraju, Rethinking "
                   "Stability for Attribution-based Explanations, ICLR Workshop 2022",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"ris", false}, {"ros", false}, {"rrs", false}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const RelativeStability r = relative_stability(model_of(s, "relative-stability"),
                                                        explainer_of(s, "relative-stability"),
                                                        s.image, stability_options(p));
         return {{"ris", r.input}, {"ros", r.output}, {"rrs", r.representation}};
       },
       .parameters = stability_parameters()});
}

}  // namespace detail

}  // namespace whitebox::metrics
