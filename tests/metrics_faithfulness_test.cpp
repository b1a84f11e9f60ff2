// Faithfulness metrics on a linear "model" (one convolution covering the whole image), where every
// curve is a partial sum of the pixels' contributions w * x and can be written down by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "metrics/common.hpp"
#include "support.hpp"
#include "whitebox/error.hpp"
#include "whitebox/metrics.hpp"

namespace whitebox::test {
namespace {

using namespace whitebox::metrics;
const auto kDouble = at::TensorOptions().dtype(at::kDouble);

// logit_k = sum_{c,i,j} weights[k, c, i, j] x[c, i, j]: a 2x2 one-channel image, two classes.
struct Linear {
  at::Tensor weights =
      at::tensor({1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 1.0}, kDouble).view({2, 1, 2, 2});
  Model model = one_node_model("Conv", {1, 1, 2, 2}, {weights});
  at::Tensor image = at::ones({1, 2, 2}, kDouble);
  at::Tensor map = weights[0][0] * image[0];  // each pixel's exact contribution to class 0
};

PerturbationOptions logit_zero(int64_t steps) {
  PerturbationOptions o;
  o.steps = steps;
  o.substitution = Substitution::Zero;
  o.score = Score::Logit;
  o.batch = 2;  // several batches
  return o;
}

void expect_near(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], 1e-12) << "at " << i;
}

TEST(MetricsFaithfulness, DeletionRemovesTheLargestContributionsFirst) {
  Linear l;
  const Curve c = deletion(l.model, l.image, l.map, 0, logit_zero(4));
  expect_near(c.fraction, {0, 0.25, 0.5, 0.75, 1});
  expect_near(c.score, {10, 6, 3, 1, 0});
  EXPECT_NEAR(c.auc, 0.25 * (8 + 4.5 + 2 + 0.5), 1e-12);
}

TEST(MetricsFaithfulness, InsertionPutsTheLargestContributionsBackFirst) {
  Linear l;
  const Curve c = insertion(l.model, l.image, l.map, 0, logit_zero(4));
  expect_near(c.score, {0, 4, 7, 9, 10});
  EXPECT_NEAR(c.auc, 0.25 * (2 + 5.5 + 8 + 9.5), 1e-12);
}

TEST(MetricsFaithfulness, StepsRoundThePixelCount) {
  Linear l;
  const Curve c =
      deletion(l.model, l.image, l.map, 0, logit_zero(3));  // 0, 1.33, 2.67, 4 -> 0, 1, 3, 4
  expect_near(c.fraction, {0, 0.25, 0.75, 1});
  expect_near(c.score, {10, 6, 1, 0});
}

TEST(MetricsFaithfulness, ABatchGivesEachImagesCurveInSharedPasses) {
  const Linear l;
  // Three images with their own maps and classes; batches of 2 straddle the images' inputs.
  const at::Tensor images = at::stack({l.image, 2 * l.image, l.image.flip({2})});
  const at::Tensor maps = at::stack({l.map, l.map.flip({0}), l.map});
  const std::vector<int64_t> classes{0, 1, 0};
  for (bool insert : {false, true}) {
    const auto batch = insert ? insertion(l.model, images, maps, classes, logit_zero(3))
                              : deletion(l.model, images, maps, classes, logit_zero(3));
    ASSERT_EQ(batch.size(), 3u);
    for (int64_t i = 0; i < 3; ++i) {
      const Curve one = insert ? insertion(l.model, images[i], maps[i], classes[i], logit_zero(3))
                               : deletion(l.model, images[i], maps[i], classes[i], logit_zero(3));
      expect_near(batch[i].score, one.score);
      expect_near(batch[i].fraction, one.fraction);
      EXPECT_NEAR(batch[i].auc, one.auc, 1e-12);
    }
  }
  EXPECT_THROW(deletion(l.model, images, maps, {0, 1}), ArgumentError);
}

TEST(MetricsFaithfulness, MeanSubstitutionUsesTheChannelMean) {
  Linear l;
  const at::Tensor image = at::tensor({1.0, 2.0, 3.0, 6.0}, kDouble).view({1, 2, 2});  // mean 3
  PerturbationOptions o = logit_zero(4);
  o.substitution = Substitution::Mean;
  const Curve c = deletion(l.model, image, l.weights[0][0] * image[0], 0, o);
  // Contributions 1, 4, 9, 24; removed ones become 3 * w: 3, 6, 9, 12.
  expect_near(c.score, {38, 26, 26, 28, 30});
}

TEST(MetricsFaithfulness, ProbabilityScoreIsTheSoftmax) {
  Linear l;
  PerturbationOptions o = logit_zero(4);
  o.score = Score::Probability;
  const Curve c = deletion(l.model, l.image, l.map, 0, o);
  // Logits (10, 1) before, (0, 0) after everything is removed.
  EXPECT_NEAR(c.score.front(), 1 / (1 + std::exp(-9.0)), 1e-12);
  EXPECT_NEAR(c.score.back(), 0.5, 1e-12);
}

TEST(MetricsFaithfulness, BlurIsANormalisedGaussian) {
  const at::Tensor constant = at::full({3, 9, 7}, 0.3, kDouble);
  EXPECT_LT((detail::gaussian_blur(constant, 2.0) - constant).abs().max().item<double>(), 1e-12);
  // An impulse far from the edges spreads as the outer product of the 1-D kernel.
  at::Tensor impulse = at::zeros({1, 11, 11}, kDouble);
  impulse[0][5][5] = 1.0;
  const at::Tensor blurred = detail::gaussian_blur(impulse, 1.0);
  const at::Tensor k = at::exp(-at::pow(at::arange(-3, 4, kDouble), 2) / 2);
  const at::Tensor expected = at::outer(k, k) / (k.sum() * k.sum());
  EXPECT_LT((blurred[0].slice(0, 2, 9).slice(1, 2, 9) - expected).abs().max().item<double>(),
            1e-12);
  EXPECT_NEAR(blurred.sum().item<double>(), 1.0, 1e-12);
}

TEST(MetricsFaithfulness, UniformSubstitutionStaysWithinTheChannelRange) {
  Linear l;
  PerturbationOptions o = logit_zero(4);
  o.substitution = Substitution::Uniform;
  // With every pixel between 1 and 6, a uniform replacement keeps the logit between 10 and 60.
  const at::Tensor image = at::tensor({1.0, 2.0, 3.0, 6.0}, kDouble).view({1, 2, 2});
  const Curve c = deletion(l.model, image, l.map, 0, o);
  EXPECT_GE(c.score.back(), 10.0);
  EXPECT_LE(c.score.back(), 60.0);
}

TEST(MetricsFaithfulness, PixelFlippingMorfAndLerf) {
  Linear l;
  FlippingOptions o;
  o.region = 1;
  o.steps = 4;
  o.substitution = Substitution::Zero;
  o.score = Score::Logit;
  const Flipping f = pixel_flipping(l.model, l.image, l.map, 0, o);
  expect_near(f.morf.score, {10, 6, 3, 1, 0});
  expect_near(f.lerf.score, {10, 9, 7, 4, 0});
  EXPECT_NEAR(f.aopc_morf, (0 + 4 + 7 + 9 + 10) / 5.0, 1e-12);
  EXPECT_NEAR(f.aopc_lerf, (0 + 1 + 3 + 6 + 10) / 5.0, 1e-12);
  // Region perturbation is the MoRF half alone, through the registry too.
  EXPECT_NEAR(aopc(region_perturbation(l.model, l.image, l.map, 0, o)), f.aopc_morf, 1e-12);
  Sample sample;
  sample.model = &l.model;
  sample.image = l.image;
  sample.map = l.map;
  const Params p({{"region", "1"}, {"steps", "4"}, {"substitution", "zero"}, {"score", "logit"}});
  EXPECT_NEAR(find_metric("region-perturbation").run(sample, p).at("region_perturbation_aopc"),
              f.aopc_morf, 1e-12);
}

TEST(MetricsFaithfulness, PixelFlippingRanksRegionsBySummedRelevance) {
  // A 4x4 image in 2x2 regions; region sums 4, 8, 12, 16 from top left, row-major.
  const at::Tensor weights = at::arange(16, kDouble).view({1, 1, 4, 4}) * 0 + 1;
  const Model model = one_node_model("Conv", {1, 1, 4, 4}, {weights});
  const at::Tensor region_value = at::tensor({1.0, 2.0, 3.0, 4.0}, kDouble).view({2, 2});
  const at::Tensor image =
      region_value.repeat_interleave(2, 0).repeat_interleave(2, 1).unsqueeze(0);
  FlippingOptions o;
  o.region = 2;
  o.steps = 10;  // capped at the 4 regions
  o.substitution = Substitution::Zero;
  o.score = Score::Logit;
  const Flipping f = pixel_flipping(model, image, image[0], 0, o);
  expect_near(f.morf.fraction, {0, 0.25, 0.5, 0.75, 1});
  expect_near(f.morf.score, {40, 24, 12, 4, 0});
}

TEST(MetricsFaithfulness, LinearImputationReproducesARamp) {
  // x = i + 2 j is exactly the weighted mean of its 8 neighbours (the weights are symmetric).
  const at::Tensor i = at::arange(6, kDouble).view({-1, 1}),
                   j = at::arange(7, kDouble).view({1, -1});
  const at::Tensor ramp = (i + 2 * j).unsqueeze(0).repeat({2, 1, 1});
  at::Tensor removed = at::zeros({6, 7}, at::kBool);
  removed.slice(0, 1, 5).slice(1, 2, 6).fill_(true);
  const at::Tensor damaged = at::where(removed, at::zeros_like(ramp), ramp);
  const at::Tensor filled = impute_linear(damaged, removed, 0.0, 0, 1e-12);
  EXPECT_LT((filled - ramp).abs().max().item<double>(), 1e-9);
}

TEST(MetricsFaithfulness, RoadStartsFromTheImageAndFollowsTheFractions) {
  Linear l;
  RoadOptions o;
  o.fractions = {0.25, 0.5};
  o.noise = 0;
  o.score = Score::Logit;
  const Curve c = road(l.model, l.image, l.map, 0, o);
  expect_near(c.fraction, {0, 0.25, 0.5});
  // A constant image is imputed as itself.
  expect_near(c.score, {10, 10, 10});
}

// ROAD's registry entry shares its option reader with ARCC's but also reads the score.
TEST(MetricsFaithfulness, RoadEntryFollowsItsScoreOption) {
  Linear l;
  Sample s;
  s.model = &l.model;
  s.image = l.image;
  s.map = l.map;
  Params p({{"fractions", "0.25,0.5"}, {"noise", "0"}});
  const MetricInfo& road = find_metric("road");
  // A constant image is imputed as itself: probability below 1 throughout, logit 10.
  EXPECT_LT(road.run(s, p).at("road_morf_auc"), 0.5);
  EXPECT_NEAR(road.run(s, p.set("score", "logit")).at("road_morf_auc"), 10 * 0.5, 1e-9);
}

TEST(MetricsFaithfulness, FaithfulnessCorrelationOfTheExactContributionsIsOne) {
  Linear l;
  const at::Tensor image = at::tensor({1.0, -2.0, 0.5, 3.0}, kDouble).view({1, 2, 2});
  const at::Tensor map = l.weights[0][0] * image[0];
  CorrelationOptions o;
  o.samples = 20;
  o.subset_size = 2;
  o.score = Score::Logit;
  EXPECT_NEAR(faithfulness_correlation(l.model, image, map, 0, o), 1.0, 1e-12);
  EXPECT_NEAR(faithfulness_correlation(l.model, image, -map, 0, o), -1.0, 1e-12);
  const SensitivityN s = sensitivity_n(l.model, image, map, 0, {1, 3}, o);
  expect_near(s.correlation, {1, 1});
}

TEST(MetricsFaithfulness, RandomSubsetsHaveTheRequestedSize) {
  const at::Tensor subsets = random_subsets(5, 7, 4, 6, 3);
  ASSERT_EQ(subsets.sizes(), (at::IntArrayRef{5, 4, 6}));
  EXPECT_TRUE((subsets.sum({1, 2}) == 7).all().item<bool>());
  EXPECT_TRUE(random_subsets(5, 7, 4, 6, 3).equal(subsets));  // seeded
  EXPECT_THROW(random_subsets(5, 25, 4, 6, 3), ArgumentError);
}

TEST(MetricsFaithfulness, InfidelityOfTheExactLinearAttributionIsZero) {
  Linear l;
  const at::Tensor image = at::tensor({1.0, -2.0, 0.5, 3.0}, kDouble).view({1, 2, 2});
  InfidelityOptions o;
  o.samples = 16;
  o.normalize = false;
  EXPECT_NEAR(infidelity(l.model, image, l.weights[0][0], 0, o), 0.0, 1e-20);
  // Scaled attributions are judged by their shape only when normalised.
  o.normalize = true;
  EXPECT_NEAR(infidelity(l.model, image, 3 * l.weights[0][0], 0, o), 0.0, 1e-20);
  // By hand: I = one pixel of +1 on the last pixel; predicted 2 * 4, actual 4.
  const at::Tensor one = at::zeros({1, 1, 2, 2}, kDouble).index_put_({0, 0, 1, 1}, 1.0);
  o.normalize = false;
  EXPECT_NEAR(infidelity(l.model, image, 2 * l.weights[0][0], 0, one, o), 16.0, 1e-12);
}

// ARCC on a linear two-class model of a 6x6 image, the map a ramp (scaled: mean 1/2). An
// explainer that ignores its input gives coherency 1; the channel sum of the input gives the
// Pearson correlation of the ramp with ramp * image, written out here.
TEST(MetricsFaithfulness, ArccCombinesCoherencyComplexityAndRoad) {
  at::manual_seed(5);
  const Model model = one_node_model("Conv", {1, 1, 6, 6}, {at::randn({2, 1, 6, 6}, kDouble)});
  const at::Tensor image = at::rand({1, 6, 6}, kDouble) + 0.5;
  const at::Tensor map = at::arange(36, kDouble).view({6, 6});
  RoadOptions o = arcc_road_options();
  o.noise = 0;
  const Curve morf = road(model, image, map, 0, o);
  o.most_relevant_first = false;
  const double r = std::clamp(2 * road_combined(morf, road(model, image, map, 0, o)), 0.0, 1.0);
  o.most_relevant_first = true;
  ASSERT_GT(r, 0.0);  // the ramp ranks class 0's evidence better than chance on this draw
  ASSERT_LT(r, 1.0);

  const ClassExplainer fixed = [&](const at::Tensor& x, int64_t) {
    return map.unsqueeze(0).expand({x.size(0), 6, 6});
  };
  const Arcc a = arcc(model, fixed, image, map, 0, o);
  EXPECT_NEAR(a.complexity, 0.5, 1e-12);
  EXPECT_NEAR(a.coherency, 1.0, 1e-12);
  EXPECT_NEAR(a.road, r, 1e-12);
  EXPECT_NEAR(a.arcc, std::cbrt(0.5 * r), 1e-12);
  EXPECT_NEAR(a.harmonic, r > 0 ? 3 / (1 + 2 + 1 / r) : 0.0, 1e-12);

  const ClassExplainer channel_sum = [](const at::Tensor& x, int64_t) { return x.sum(1); };
  const Arcc b = arcc(model, channel_sum, image, map, 0, o);
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (int64_t i = 0; i < 36; ++i) {
    const double m = i / 35.0, y = m * image.flatten()[i].item<double>();
    sx += m, sy += y, sxx += m * m, syy += y * y, sxy += m * y;
  }
  const double rho = (sxy - sx * sy / 36) / std::sqrt((sxx - sx * sx / 36) * (syy - sy * sy / 36));
  EXPECT_NEAR(b.coherency, (rho + 1) / 2, 1e-12);  // min-max scaling leaves Pearson unchanged
  EXPECT_LT(b.coherency, 1.0);
  EXPECT_NEAR(b.arcc, std::cbrt(b.coherency * 0.5 * r), 1e-12);
}

TEST(MetricsFaithfulness, BadArgumentsThrowTypedErrors) {
  Linear l;
  EXPECT_THROW(deletion(l.model, l.image, at::ones({3, 3}, kDouble), 0), InputError);
  EXPECT_THROW(deletion(l.model, l.image[0], l.map, 0), InputError);
  EXPECT_THROW(deletion(l.model, l.image, l.map, 5), ArgumentError);
  EXPECT_THROW(deletion(l.model, l.image, l.map, 0, logit_zero(0)), ArgumentError);
  EXPECT_THROW(parse_substitution("noise"), LookupError);
  EXPECT_EQ(parse_substitution(to_string(Substitution::Blur)), Substitution::Blur);
}

}  // namespace
}  // namespace whitebox::test
