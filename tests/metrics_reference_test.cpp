// Every metric against tests/reference/metrics.py, an independent NumPy implementation, on a
// linear model with a 3x12x10 input, a map with ties, and saved random draws.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/npy.hpp"

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
  static inline at::Tensor weights, image, map, subsets, perturbations, noise, mask, reference;
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
