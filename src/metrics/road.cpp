// ROAD: RemOve And Debias with noisy linear imputation (Rong et al., ICML 2022).
#include <cmath>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/faithfulness.hpp"

namespace whitebox::metrics {
namespace {

// Neighbour weights of the imputation: 1/6 for the 4 direct neighbours, 1/12 for the diagonals.
at::Tensor neighbour_kernel(const at::TensorOptions& options) {
  return at::tensor(
             {1.0 / 12, 1.0 / 6, 1.0 / 12, 1.0 / 6, 0.0, 1.0 / 6, 1.0 / 12, 1.0 / 6, 1.0 / 12},
             at::TensorOptions().dtype(at::kDouble))
      .to(options.device())
      .view({1, 1, 3, 3});
}

// sum_j k_ij v_j over the in-image neighbours of every pixel; v [N, H, W].
at::Tensor neighbour_sum(const at::Tensor& v, const at::Tensor& kernel) {
  const std::vector<int64_t> unit{1, 1};
  return at::conv2d(v.unsqueeze(1), kernel, c10::nullopt, unit, unit).squeeze(1);
}

// Solves, for every removed pixel i, d_i u_i - sum_{j removed} k_ij u_j = sum_{j kept} k_ij x_j
// (d_i: the weight of i's in-image neighbours), i.e. u_i is the weighted mean of its neighbours.
// Written with d_i on the left the system is symmetric positive definite, so conjugate gradients
// solve it with nothing but convolutions, on any device and for a batch of planes at once.
at::Tensor solve_imputation(const at::Tensor& x, const at::Tensor& removed, double tolerance) {
  const at::Tensor kernel = neighbour_kernel(x.options());
  const at::Tensor m = removed.to(at::kDouble);
  const at::Tensor degree = neighbour_sum(at::ones_like(x.select(0, 0)).unsqueeze(0), kernel);
  const auto apply = [&](const at::Tensor& v) {
    return m * (degree * v - neighbour_sum(m * v, kernel));
  };
  const at::Tensor b = m * neighbour_sum((1 - m) * x, kernel);

  const auto norms = [](const at::Tensor& t) { return (t * t).sum({1, 2}); };
  at::Tensor u = at::zeros_like(x), r = b.clone(), p = r.clone();
  at::Tensor rs = norms(r);
  const at::Tensor target = (tolerance * tolerance) * at::clamp_min(norms(b), 1e-300);
  const int64_t limit = 20 * (x.size(1) + x.size(2)) + 200;
  for (int64_t iteration = 0; iteration < limit; ++iteration) {
    if ((rs <= target).all().item<bool>()) break;
    const at::Tensor ap = apply(p);
    const at::Tensor curvature = (p * ap).sum({1, 2});
    const at::Tensor alpha =
        at::where(curvature > 0, rs / curvature, at::zeros_like(rs)).view({-1, 1, 1});
    u = u + alpha * p;
    r = r - alpha * ap;
    const at::Tensor next = norms(r);
    const at::Tensor beta = at::where(rs > 0, next / rs, at::zeros_like(rs)).view({-1, 1, 1});
    p = r + beta * p;
    rs = next;
  }
  return at::where(removed, u, x);
}

}  // namespace

at::Tensor impute_linear(const at::Tensor& image, const at::Tensor& removed, double noise,
                         uint64_t seed, double tolerance) {
  if (!image.defined() || image.dim() != 3)
    throw InputError("the imputation needs an image [C, H, W]");
  detail::check_same_plane(image.select(0, 0), removed, "the imputation", "a removal mask");
  const at::Tensor x = image.to(at::kDouble);
  const at::Tensor mask = removed.to(image.device(), at::kBool).unsqueeze(0).expand_as(x);
  at::Tensor filled = solve_imputation(x, mask, tolerance);
  if (noise > 0) {
    at::Generator g = detail::generator(seed);
    filled = filled + at::where(mask, noise * at::randn(x.sizes(), g, at::kDouble).to(x.device()),
                                at::zeros_like(x));
  }
  return filled.to(image.scalar_type());
}

Curve road(const Model& model, const at::Tensor& image_in, const at::Tensor& map, int64_t cls,
           const RoadOptions& options) {
  detail::check_image_and_map(image_in, map, "ROAD");
  for (double f : options.fractions) {
    if (!(f >= 0 && f <= 1))
      throw ArgumentError("ROAD fractions must lie in [0, 1], not " + c10::str(f));
  }
  const at::Tensor image = detail::as_model_input(model, image_in);
  const int64_t channels = image.size(0), height = image.size(1), width = image.size(2);
  const int64_t pixels = height * width, count = static_cast<int64_t>(options.fractions.size());
  const at::Tensor rank =
      detail::pixel_rank(map.to(image.device(), at::kDouble), options.most_relevant_first);

  // All removal levels imputed in one solve: planes [level * channel, H, W].
  std::vector<int64_t> removed_counts;
  for (double f : options.fractions) removed_counts.push_back(std::llround(f * pixels));
  const at::Tensor counts = at::tensor(removed_counts, at::kLong).to(image.device());
  const at::Tensor removed = rank.unsqueeze(0) < counts.view({-1, 1, 1});  // [L, H, W]
  const at::Tensor planes =
      image.to(at::kDouble).unsqueeze(0).expand({count, channels, height, width});
  const at::Tensor plane_mask = removed.unsqueeze(1).expand({count, channels, height, width});
  at::Tensor imputed = solve_imputation(planes.reshape({-1, height, width}),
                                        plane_mask.reshape({-1, height, width}), options.tolerance)
                           .view({count, channels, height, width});
  if (options.noise > 0) {
    at::Generator g = detail::generator(options.seed);
    const at::Tensor noise =
        options.noise * at::randn(imputed.sizes(), g, at::kDouble).to(image.device());
    imputed = imputed + at::where(plane_mask, noise, at::zeros_like(noise));
  }
  imputed = imputed.to(image.scalar_type());

  Curve curve;
  curve.fraction.push_back(0.0);
  curve.score.push_back(detail::score_of(model, image, cls, options.score));
  const auto scores = detail::scores_of(
      model, count, options.batch, cls, options.score,
      [&](int64_t first, int64_t size) { return imputed.narrow(0, first, size); });
  for (int64_t i = 0; i < count; ++i) {
    curve.fraction.push_back(static_cast<double>(removed_counts[i]) / pixels);
    curve.score.push_back(scores[i]);
  }
  curve.auc = detail::trapezoid(curve.fraction, curve.score);
  return curve;
}

double road_combined(const Curve& morf, const Curve& lerf) {
  if (morf.fraction != lerf.fraction || morf.score.size() < 2 ||
      lerf.score.size() != morf.score.size()) {
    throw ArgumentError(
        "ROAD's combined score needs a MoRF and a LeRF curve over the same fractions");
  }
  double sum = 0;
  for (size_t i = 1; i < morf.score.size(); ++i) sum += (lerf.score[i] - morf.score[i]) / 2;
  return sum / static_cast<double>(morf.score.size() - 1);
}

namespace detail {

RoadOptions road_options(const Params& p, RoadOptions o) {
  if (p.has("fractions")) o.fractions = number_list(p.text("fractions", ""), "fractions");
  o.noise = p.number("noise", o.noise);
  o.batch = positive(p, "batch", o.batch);
  o.seed = seed_option(p, o.seed);
  return o;
}

Declared road_parameters(const RoadOptions& o, const std::string& fractions) {
  return Declared{
             {"fractions", number_list_text(o.fractions), fractions},
             number_parameter("noise", o.noise, "std of the noise added to imputed values", 0)} +
         common_parameters(o);
}

void add_road_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "road",
       .group = Group::Faithfulness,
       .summary =
           "score with the most / least relevant pixels removed and re-filled by noisy linear "
           "imputation; combined: the mean of (LeRF - MoRF) / 2 over the fractions",
       .citation = "Rong, Leemann, Borisov, Kasneci & Kasneci, A Consistent and Efficient "
                   "Evaluation Strategy for Attribution Methods, ICML 2022",
       .needs_model = true,
       .values = {{"road_morf_auc", false}, {"road_lerf_auc", true}, {"road_combined", true}},
       .curves = {"road_morf", "road_lerf"},
       .run = [](const Sample& s, const Params& p) -> Values {
         RoadOptions o = road_options(p, RoadOptions{});
         o.score = score_option(p, o.score);
         const Model& model = model_of(s, "road");
         const Curve morf = keep_curve(s, "road_morf", road(model, s.image, s.map, s.cls, o));
         o.most_relevant_first = false;
         const Curve lerf = keep_curve(s, "road_lerf", road(model, s.image, s.map, s.cls, o));
         return {{"road_morf_auc", morf.auc},
                 {"road_lerf_auc", lerf.auc},
                 {"road_combined", road_combined(morf, lerf)}};
       },
       .parameters =
           road_parameters(RoadOptions{}, "comma-separated fractions of the pixels removed") +
           score_parameter(RoadOptions{}.score)});
}

}  // namespace detail

}  // namespace whitebox::metrics
