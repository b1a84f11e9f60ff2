// Every metric against tests/reference/metrics.py, an independent NumPy implementation, on a
// linear model with a 3x12x10 input, a map with ties, and saved random draws.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "support.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/similarity.hpp"

namespace whitebox::test {
namespace {

using namespace whitebox::metrics;
const auto kDouble = at::TensorOptions().dtype(at::kDouble);

class MetricsReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::manual_seed(7);
    weights = at::randn({3, 3, 12, 10}, kDouble);
    model = std::make_unique<Model>(one_node_model("Conv", {1, 3, 12, 10}, {weights}));
    image = at::randn({3, 12, 10}, kDouble);
    map = at::round(at::randn({12, 10}, kDouble) * 4) / 4;  // ties break in row-major order
    subsets = random_subsets(30, 12, 12, 10, 1);
    perturbations = 0.3 * at::randn({20, 3, 12, 10}, kDouble);
    noise = 0.05 * (2 * at::rand({6, 3, 12, 10}, kDouble) - 1);
    mask = box_mask({{2, 3, 7, 9}}, 12, 10);
    reference = at::rand({12, 10}, kDouble);
    segments = at::randint(0, 6, {12, 10}, at::kLong) * 3;  // labels need not be consecutive
    region_noise = 2 * at::rand({3, 3, 12, 10}, kDouble) - 1;
    cells = random_subsets(kMu.samples, 2, kMu.grid, kMu.grid, kMu.seed);

    dir = std::make_unique<TempDir>();
    for (const auto& [name, tensor] : std::vector<std::pair<std::string, at::Tensor>>{
             {"weights", weights},
             {"image", image},
             {"map", map},
             {"subsets", subsets.to(at::kByte)},
             {"perturbations", perturbations},
             {"noise", noise},
             {"mask", mask.to(at::kByte)},
             {"reference", reference},
             {"segments", segments},
             {"region_noise", region_noise},
             {"cells", cells.to(at::kByte)},
             {"class", at::tensor({kClass}, at::kLong)}}) {
      write_npy(*dir / (name + ".npy"), tensor);
    }
    const std::string command = std::string(WHITEBOX_PYTHON) + " " + WHITEBOX_SOURCE_DIR +
                                "/tests/reference/metrics.py " + dir->path().string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream in(*dir / "results.json");
    expected = nlohmann::json::parse(in);
  }
  static void TearDownTestSuite() {
    model.reset();
    dir.reset();
  }

  static double ref(const std::string& name) { return expected.at(name).get<double>(); }

  static constexpr int64_t kClass = 1;
  // 2 of the 3 x 3 cells per sample (round(0.2 x 9)), drawn as grid_subsets draws them.
  static inline const MuFidelityOptions kMu = {.samples = 25, .grid = 3, .seed = 5};
  static inline at::Tensor weights, image, map, subsets, perturbations, noise, mask, reference,
      segments, region_noise, cells;
  static inline std::unique_ptr<Model> model;
  static inline std::unique_ptr<TempDir> dir;
  static inline nlohmann::json expected;
};

constexpr double kTolerance = 1e-9;

TEST_F(MetricsReference, DeletionAndInsertion) {
  for (const auto& [name, substitution] :
       std::vector<std::pair<std::string, Substitution>>{{"blur", Substitution::Blur},
                                                         {"mean", Substitution::Mean},
                                                         {"zero", Substitution::Zero}}) {
    PerturbationOptions o;
    o.steps = 16;  // 7.5 pixels per step: the counts round halves up
    o.batch = 5;
    o.substitution = substitution;
    o.blur_sigma = 1.5;
    EXPECT_NEAR(deletion(*model, image, map, kClass, o).auc, ref("deletion_" + name), kTolerance)
        << name;
    EXPECT_NEAR(insertion(*model, image, map, kClass, o).auc, ref("insertion_" + name), kTolerance)
        << name;
  }
}

TEST_F(MetricsReference, PixelFlipping) {
  FlippingOptions o;
  o.region = 3;
  o.substitution = Substitution::Mean;
  const Flipping f = pixel_flipping(*model, image, map, kClass, o);
  EXPECT_NEAR(f.aopc_morf, ref("aopc_morf"), kTolerance);
  EXPECT_NEAR(f.aopc_lerf, ref("aopc_lerf"), kTolerance);
}

TEST_F(MetricsReference, Road) {
  RoadOptions o;
  o.fractions = {0.1, 0.3, 0.5, 0.9};
  o.noise = 0;
  o.tolerance = 1e-12;
  o.batch = 3;
  EXPECT_NEAR(road(*model, image, map, kClass, o).auc, ref("road_morf"), 1e-8);
  o.most_relevant_first = false;
  EXPECT_NEAR(road(*model, image, map, kClass, o).auc, ref("road_lerf"), 1e-8);
}

TEST_F(MetricsReference, SelectivityIrofAndRoadCombined) {
  FlippingOptions o;
  o.region = 3;
  o.substitution = Substitution::Mean;
  EXPECT_NEAR(region_perturbation(*model, image, map, kClass, o).auc, ref("auc_morf"), kTolerance);
  EXPECT_NEAR(region_perturbation(*model, image, map, kClass, o, false).auc, ref("auc_lerf"),
              kTolerance);
  IrofOptions i;
  i.batch = 4;
  const double value = irof(*model, image, map, kClass, segments, i);
  EXPECT_NEAR(value, ref("irof"), kTolerance);
  RoadOptions r;
  r.fractions = {0.1, 0.3, 0.5, 0.9};
  r.noise = 0;
  r.tolerance = 1e-12;
  const Curve morf = road(*model, image, map, kClass, r);
  r.most_relevant_first = false;
  EXPECT_NEAR(road_combined(morf, road(*model, image, map, kClass, r)), ref("road_combined"), 1e-8);
}

TEST_F(MetricsReference, MonotonicityCorrelationNonSensitivityAndMuFidelity) {
  RegionEffectOptions o;
  o.region = 4;
  o.batch = 5;
  const RegionEffects effects = region_effects(*model, image, map, kClass, region_noise, o);
  ASSERT_EQ(effects.relevance.numel(), 9);
  EXPECT_NEAR(monotonicity_correlation(effects), ref("monotonicity_correlation"), kTolerance);
  const double non = non_sensitivity(effects, 0.05);
  EXPECT_NEAR(non, ref("non_sensitivity"), kTolerance);
  EXPECT_NEAR(mufidelity(*model, image, map, kClass, kMu), ref("mufidelity"), kTolerance);
  std::printf("monotonicity correlation %.3f, non-sensitivity %.3f, MuFidelity %.3f\n",
              ref("monotonicity_correlation"), non, ref("mufidelity"));
}

// Properties: a map whose region sums rank as the regions' effects has monotonicity correlation 1;
// a model blind to the left half, explained by a map that is 0 exactly there, has
// non-sensitivity 0, and a map that puts relevance there has not.
TEST_F(MetricsReference, RegionEffectProperties) {
  at::Tensor blind = weights.clone();
  blind.narrow(3, 0, 4).zero_();
  const Model half = one_node_model("Conv", {1, 3, 12, 10}, {blind});
  RegionEffectOptions o;
  o.region = 4;
  const RegionEffects effects = region_effects(half, image, map, kClass, region_noise, o);
  const at::Tensor region = at::arange(12).div(4, "floor").view({-1, 1}) * 3 +
                            at::arange(10).div(4, "floor").view({1, -1});
  // Each region's effect spread over its pixels (the right-hand regions are 2 columns wide).
  const at::Tensor per_pixel = effects.effect / at::bincount(region.reshape({-1}));
  const at::Tensor ranked_map = per_pixel.index_select(0, region.reshape({-1})).view({12, 10});
  EXPECT_DOUBLE_EQ(
      monotonicity_correlation(region_effects(half, image, ranked_map, kClass, region_noise, o)),
      1.0);
  at::Tensor faithful = map.abs() + 1;
  faithful.narrow(1, 0, 4).zero_();
  EXPECT_EQ(non_sensitivity(region_effects(half, image, faithful, kClass, region_noise, o), 1e-12),
            0.0);
  EXPECT_NEAR(
      non_sensitivity(region_effects(half, image, map.abs() + 1, kClass, region_noise, o), 1e-12),
      3.0 / 9.0, 1e-12);  // the 3 regions of columns 0-3 have relevance, no effect
}

TEST_F(MetricsReference, FaithfulnessCorrelationAndInfidelity) {
  CorrelationOptions c;
  c.substitution = Substitution::Mean;
  c.batch = 7;
  EXPECT_NEAR(faithfulness_correlation(*model, image, map, kClass, subsets, c),
              ref("faithfulness_correlation"), kTolerance);
  InfidelityOptions o;
  EXPECT_NEAR(infidelity(*model, image, map, kClass, perturbations, o), ref("infidelity"), 1e-8);
  o.normalize = false;
  EXPECT_NEAR(infidelity(*model, image, map, kClass, perturbations, o) / ref("infidelity_raw"), 1.0,
              1e-12);
}

TEST_F(MetricsReference, Localisation) {
  EXPECT_EQ(pointing_game(map, mask, 2.5) ? 1.0 : 0.0, ref("pointing_game"));
  EXPECT_NEAR(energy_pointing_game(map, mask), ref("energy_pointing_game"), kTolerance);
  EXPECT_NEAR(relevance_mass_accuracy(map, mask), ref("relevance_mass_accuracy"), kTolerance);
  EXPECT_NEAR(relevance_rank_accuracy(map, mask), ref("relevance_rank_accuracy"), kTolerance);
  EXPECT_NEAR(iou(map, mask, 0.5), ref("iou"), kTolerance);
}

TEST_F(MetricsReference, TopKAucConfidenceCompletenessAndEffectiveComplexity) {
  EXPECT_NEAR(top_k_intersection(map, mask, 10), ref("top_k_intersection"), kTolerance);
  EXPECT_NEAR(localisation_auc(map, mask), ref("localisation_auc"), kTolerance);
  const ConfidenceChange c = confidence_change(*model, image, map, kClass);
  EXPECT_NEAR(c.drop, ref("confidence_drop"), kTolerance);
  EXPECT_EQ(c.increase ? 1.0 : 0.0, ref("confidence_increase"));
  EXPECT_NEAR(completeness_gap(*model, image, map, kClass), ref("completeness_gap"), kTolerance);
  EXPECT_NEAR(effective_complexity(map, 0.3), ref("effective_complexity"), kTolerance);
  PerturbationOptions o;
  o.steps = 16;
  o.substitution = Substitution::Mean;
  const double m = monotonicity(*model, image, map, kClass, o);
  EXPECT_NEAR(m, ref("monotonicity"), kTolerance);
  EXPECT_GT(m, 0.0);
  EXPECT_LT(m, 1.0);  // this map is no monotonic one: the check can tell
}

TEST_F(MetricsReference, Robustness) {
  const at::Tensor w = weights[kClass];
  const Explainer squared_contribution = [w](const at::Tensor& x) {
    return (w.unsqueeze(0) * x).sum(1).pow(2);
  };
  RobustnessOptions o;
  o.batch = 4;
  const Sensitivity s = sensitivity(squared_contribution, image, noise, o);
  EXPECT_NEAR(s.max, ref("max_sensitivity"), kTolerance);
  EXPECT_NEAR(s.average, ref("avg_sensitivity"), kTolerance);
  EXPECT_NEAR(local_lipschitz(squared_contribution, image, noise, o), ref("local_lipschitz"), 1e-8);

  StabilityOptions r;
  r.batch = 4;
  r.layer = model->graph().values[model->input()].name;  // RRS on the input itself is RIS
  const RelativeStability stability =
      relative_stability(*model, squared_contribution, image, noise, r);
  EXPECT_EQ(stability.kept, noise.size(0));
  EXPECT_NEAR(stability.input / ref("ris"), 1.0, 1e-10);
  EXPECT_NEAR(stability.output / ref("ros"), 1.0, 1e-10);
  EXPECT_NEAR(stability.representation, stability.input, 1e-12 * stability.input);
}

// Random logit on a linear model (16 x 16, as SSIM's windows need 11 x 11), whose class-c
// contributions w_c x are the exact maps.
TEST_F(MetricsReference, RandomLogit) {
  const at::Tensor w = at::randn({3, 3, 16, 16}, kDouble), x = at::randn({3, 16, 16}, kDouble);
  const Model linear = one_node_model("Conv", {1, 3, 16, 16}, {w});
  const ClassExplainer contribution = [w](const at::Tensor& inputs, int64_t c) {
    return (w[c].unsqueeze(0) * inputs).sum(1);
  };
  std::set<int64_t> drawn;
  for (uint64_t seed = 0; seed < 50; ++seed) drawn.insert(random_other_class(kClass, 3, seed));
  EXPECT_EQ(drawn, (std::set<int64_t>{0, 2}));  // never the class itself, every other one
  const at::Tensor own = contribution(x.unsqueeze(0), kClass)[0];
  const ClassExplainer blind = [&](const at::Tensor& inputs, int64_t) {
    return contribution(inputs, kClass);
  };
  EXPECT_NEAR(random_logit_similarity(linear, blind, x, own, kClass, 3), 1.0, 1e-12);
  const at::Tensor other = contribution(x.unsqueeze(0), random_other_class(kClass, 3, 3))[0];
  const double value = random_logit_similarity(linear, contribution, x, own, kClass, 3);
  EXPECT_NEAR(value, ssim(own, other), 1e-12);
  EXPECT_LT(value, 0.9);
}

TEST_F(MetricsReference, ComplexityAndAgreement) {
  EXPECT_NEAR(sparseness(map), ref("sparseness"), kTolerance);
  EXPECT_NEAR(entropy(map), ref("entropy"), kTolerance);
  EXPECT_NEAR(pearson(map, reference), ref("cc"), kTolerance);
  EXPECT_NEAR(similarity(map, reference), ref("sim"), kTolerance);
  EXPECT_NEAR(kl_divergence(map, reference), ref("kl"), kTolerance);
  const at::Tensor fixations = fixations_of(reference, 0.5);
  EXPECT_NEAR(nss(map, fixations), ref("nss"), kTolerance);
  EXPECT_NEAR(auc_judd(map, fixations), ref("auc_judd"), kTolerance);
}

}  // namespace
}  // namespace whitebox::test
