// Metrics over a data set (sufficiency, consistency, MeGe / ReCo): hand-computed cases, a
// brute-force reference written out loop by loop, and the registry's observe / combine steps on
// the bundled MobileNetV2.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/similarity.hpp"

namespace whitebox::test {
namespace {

using namespace whitebox::metrics;
using at::kDouble;

at::Tensor rows(const std::vector<std::vector<double>>& values) {
  std::vector<at::Tensor> r;
  for (const auto& v : values) r.push_back(at::tensor(v, kDouble));
  return at::stack(r);
}

TEST(MetricsDataset, GridProfileAveragesAbsoluteCellsOverTheLargest) {
  const at::Tensor map = -at::arange(16, kDouble).view({4, 4});
  // Cells of 2 x 2: means of |map| 2.5, 4.5, 10.5, 12.5.
  const at::Tensor profile = grid_profile(map, 2);
  EXPECT_TRUE(at::allclose(profile, at::tensor({2.5, 4.5, 10.5, 12.5}, kDouble) / 12.5));
  EXPECT_EQ(grid_profile(at::zeros({4, 4}), 2).sum().item<double>(), 0.0);
  EXPECT_THROW(grid_profile(map, 5), ArgumentError);
  EXPECT_THROW(grid_profile(map, 0), ArgumentError);
}

TEST(MetricsDataset, SufficiencyByHand) {
  // Variances (n - 1) 3 and 1/3: standardised distances a-b = a-c = sqrt(3), a-d = sqrt(6) (the
  // largest), b-c = sqrt(6), b-d = sqrt(3), c-d = sqrt(3); normalised: 1/sqrt(2) or 1.
  const at::Tensor p = rows({{0, 0}, {0, 1}, {3, 0}, {3, 1}});
  const std::vector<int64_t> predictions{1, 1, 2, 1};
  const auto s = sufficiency(p, predictions, 0.75);
  // a: b (1) and c (2) -> 1/2; b: a (1), d (1) -> 1; c: a, d -> 0; d: b, c -> 1/2.
  EXPECT_EQ(s, (std::vector<double>{0.5, 1.0, 0.0, 0.5}));
  const auto tight = sufficiency(p, predictions, 0.5);
  for (double v : tight) EXPECT_TRUE(std::isnan(v));  // nothing applies to anything
  const auto loose = sufficiency(p, predictions, 1.0);
  EXPECT_DOUBLE_EQ(loose[0], 2.0 / 3.0);
  EXPECT_THROW(sufficiency(p, {1, 2}, 0.6), InputError);
}

TEST(MetricsDataset, SufficiencyMatchesALoopByLoopReference) {
  at::manual_seed(3);
  const int64_t n = 40, d = 12;
  at::Tensor p = at::rand({n, d}, kDouble);
  p.select(1, 5).fill_(0.25);  // a constant coordinate is left out
  std::vector<int64_t> predictions;
  for (int64_t i = 0; i < n; ++i) predictions.push_back(i % 3);
  const auto a = p.accessor<double, 2>();
  std::vector<double> variance(d, 0.0);
  for (int64_t k = 0; k < d; ++k) {
    double mean = 0;
    for (int64_t i = 0; i < n; ++i) mean += a[i][k] / n;
    for (int64_t i = 0; i < n; ++i) variance[k] += (a[i][k] - mean) * (a[i][k] - mean) / (n - 1);
  }
  std::vector<std::vector<double>> distance(n, std::vector<double>(n, 0.0));
  double largest = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t k = 0; k < d; ++k) {
        if (variance[k] > 1e-15)
          distance[i][j] += (a[i][k] - a[j][k]) * (a[i][k] - a[j][k]) / variance[k];
      }
      distance[i][j] = std::sqrt(distance[i][j]);
      largest = std::max(largest, distance[i][j]);
    }
  }
  const auto s = sufficiency(p, predictions, 0.6);
  int64_t defined = 0;
  for (int64_t i = 0; i < n; ++i) {
    double near = 0, same = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i || distance[i][j] / largest > 0.6) continue;
      near += 1;
      same += predictions[j] == predictions[i];
    }
    if (near == 0) {
      EXPECT_TRUE(std::isnan(s[i])) << i;
    } else {
      EXPECT_NEAR(s[i], same / near, 1e-12) << i;
      ++defined;
    }
  }
  EXPECT_GT(defined, n / 2);  // the threshold leaves most images with neighbours
}

TEST(MetricsDataset, ConsistencyGroupsImagesByTheirTopCells) {
  // Top-2 sets: {0, 1}, {0, 1} (order of the values does not matter), {2, 3}, {0, 1}, {2, 3};
  // the tie in the last row goes to the lower indices.
  const at::Tensor p = rows({{0.9, 0.8, 0.1, 0.0},
                             {0.7, 0.95, 0.2, 0.1},
                             {0.0, 0.1, 1.0, 0.5},
                             {1.0, 0.6, 0.6, 0.2},
                             {0.1, 0.1, 0.7, 0.7}});
  const std::vector<int64_t> predictions{4, 4, 7, 5, 7};
  const auto c = consistency(p, predictions, 2);
  // The tie of row 3 (0.6, 0.6 at 1 and 2) keeps index 1: {0, 1}.
  EXPECT_DOUBLE_EQ(c[0], 0.5);  // rows 1 (4) and 3 (5)
  EXPECT_DOUBLE_EQ(c[1], 0.5);
  EXPECT_DOUBLE_EQ(c[2], 1.0);  // row 4 (7)
  EXPECT_DOUBLE_EQ(c[3], 0.0);
  EXPECT_DOUBLE_EQ(c[4], 1.0);
  const auto single = consistency(p, predictions, 4);  // one set for all: {0, 1, 2, 3}
  EXPECT_DOUBLE_EQ(single[0], 0.25);
  const auto alone = consistency(p.narrow(0, 0, 1), {4}, 1);
  EXPECT_TRUE(std::isnan(alone[0]));
  EXPECT_THROW(consistency(p, predictions, 5), ArgumentError);
}

TEST(MetricsDataset, GeneralisationByHand) {
  // Thresholds 0.1: TPR 1/2, TNR 1 -> 0.5; 0.15: 1/2, 1/2 -> 0; 0.2: 1, 1/2 -> 0.5; 0.5: 1, 0.
  const Generalisation g = generalisation({0.1, 0.2}, {0.5, 0.15});
  EXPECT_DOUBLE_EQ(g.mege, 1.0 / 1.15);
  EXPECT_DOUBLE_EQ(g.reco, 0.5);
  EXPECT_DOUBLE_EQ(generalisation({0.1, 0.2}, {0.3, 0.4}).reco, 1.0);  // separated
  EXPECT_DOUBLE_EQ(generalisation({0.3, 0.4}, {0.1, 0.2}).reco, 0.0);  // the wrong way round
  EXPECT_TRUE(std::isnan(generalisation({}, {0.3}).mege));
  EXPECT_TRUE(std::isnan(generalisation({0.3}, {}).reco));
  EXPECT_DOUBLE_EQ(generalisation({0.0}, {}).mege, 1.0);

  const at::Tensor a = at::tensor({1.0, 2.0, 3.0, 4.0}, kDouble);
  EXPECT_NEAR(spearman_distance(a, a), 0.0, 1e-12);
  EXPECT_NEAR(spearman_distance(a, -a), 0.0, 1e-12);  // |rho|: reversed ranks agree
  // Ranks 1 2 3 4 against 2 1 4 3: rho = 1 - 6 * 4 / (4 * 15) = 0.6.
  EXPECT_NEAR(spearman_distance(a, at::tensor({2.0, 1.0, 4.0, 3.0}, kDouble)), std::sqrt(0.4),
              1e-12);
}

// The registry's data-set metrics on the bundled MobileNetV2: a few photos observed one by one,
// then combined, equal the library functions on the same profiles and predictions.
TEST(MetricsDataset, RegistryObservesAndCombinesOverPhotos) {
  const Model model = Model::load(default_model());
  std::vector<Sample> samples;
  std::vector<at::Tensor> profiles;
  std::vector<int64_t> predictions;
  for (const char* name : {"chelsea.png", "cat.bmp", "parrot.jpg", "hot_dog.jpg", "bird.bmp"}) {
    const at::Tensor x =
        preprocess(read_image(bundled(std::string("images/") + name)), model.preprocessing).tensor;
    Sample s;
    s.model = &model;
    s.image = x[0];
    s.cls = model.logits(x).argmax(1).item<int64_t>();
    s.map = explain(model, x, {"gradcam"}, Target::index(s.cls)).at("gradcam").map[0];
    s.method = "gradcam";
    samples.push_back(s);
    profiles.push_back(grid_profile(s.map, 7));
    predictions.push_back(s.cls);
  }
  const Params p = Params().set("threshold", "0.8");
  const DatasetValues sufficient = evaluate_dataset(find_metric("sufficiency"), samples, p);
  const auto expected = sufficiency(at::stack(profiles), predictions, 0.8);
  ASSERT_EQ(sufficient.per_image.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const double v = sufficient.per_image[i].at("sufficiency");
    EXPECT_TRUE(std::isnan(expected[i]) ? std::isnan(v) : v == expected[i]) << i;
  }
  const DatasetValues consistent =
      evaluate_dataset(find_metric("consistency"), samples, Params().set("top", "1"));
  const auto by_top_cell = consistency(at::stack(profiles), predictions, 1);
  for (size_t i = 0; i < samples.size(); ++i) {
    const double v = consistent.per_image[i].at("consistency");
    EXPECT_TRUE(std::isnan(by_top_cell[i]) ? std::isnan(v) : v == by_top_cell[i]) << i;
  }
  EXPECT_FALSE(find_metric("sufficiency").run);  // nothing to say about one image alone
  EXPECT_THROW(evaluate_dataset(find_metric("deletion"), samples, {}), ArgumentError);

  // MeGe over the model and two copies of it: every pair agrees at distance 0.
  const std::string copies = default_model().string() + "," + default_model().string();
  const DatasetValues same =
      evaluate_dataset(find_metric("mege"), samples, Params().set("models", copies));
  EXPECT_DOUBLE_EQ(same.overall.at("mege"), 1.0);
  EXPECT_TRUE(std::isnan(same.overall.at("reco")));  // no disagreeing pair
  EXPECT_THROW(evaluate_dataset(find_metric("mege"), samples, {}), ArgumentError);
}

// MeGe's observations of one image over three fixture networks: a pair for every two models of
// which one at least predicts the class, agreeing when both do, at the Spearman distance of the
// maps each model gives.
TEST(MetricsDatasetModels, MegePairsFollowThePredictionsOfEachModel) {
  const std::vector<std::string> names{"squeezenet1_1", "mobilenet_v3_small", "mnasnet0_5"};
  for (const auto& name : names) ASSERT_TRUE(has_fixture(name)) << "missing fixture " << name;
  std::vector<Model> models;
  for (const auto& name : names) models.push_back(Model::load(fixture(name) / "model.onnx"));
  const at::Tensor x = at::randn({1, 3, 224, 224}, at::TensorOptions().dtype(at::kFloat));
  std::vector<int64_t> predicted;
  std::vector<at::Tensor> maps;
  Sample s;
  s.model = &models[0];
  s.image = x[0];
  s.cls = models[0].logits(x).argmax(1).item<int64_t>();
  s.method = "saliency";
  for (const Model& m : models) {
    predicted.push_back(m.logits(x).argmax(1).item<int64_t>());
    maps.push_back(explain(m, x, {"saliency"}, Target::index(s.cls)).at("saliency").map[0]);
  }
  s.map = maps[0];
  const std::string others = (fixture(names[1]) / "model.onnx").string() + "," +
                             (fixture(names[2]) / "model.onnx").string();
  const auto observed = find_metric("mege").dataset.observe(s, Params().set("models", others));
  std::vector<double> expected;
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = i + 1; j < 3; ++j) {
      const bool a = predicted[i] == s.cls, b = predicted[j] == s.cls;
      if (!a && !b) continue;
      expected.push_back(a && b ? 1.0 : 0.0);
      expected.push_back(spearman_distance(maps[i], maps[j]));
    }
  }
  ASSERT_EQ(observed.size(), expected.size());
  EXPECT_GE(observed.size(), 4u);  // the first model predicts the class: two pairs at least
  for (size_t k = 0; k < expected.size(); ++k) EXPECT_NEAR(observed[k], expected[k], 1e-12) << k;
}

}  // namespace
}  // namespace whitebox::test

namespace whitebox::test {
namespace {

TEST(MetricsInterval, MeanIntervalsStayWithinTheValuesRange) {
  // Shares: Wilson's interval of 4 hits in 5, and of 3 in 3 (whose upper end is 1, not past it).
  const auto [low, high] = metrics::mean_interval95({1, 1, 0, 1, 1});
  EXPECT_NEAR(low, 0.3755, 1e-4);
  EXPECT_NEAR(high, 0.9638, 1e-4);
  const auto all = metrics::mean_interval95({1, 1, 1});
  EXPECT_NEAR(all.first, 0.4385, 1e-4);
  EXPECT_EQ(all.second, 1.0);
  // Values near a bound of 1, where mean +- t std / sqrt(n) reaches 1.11: the bootstrap stays
  // within [min, max], around the mean, and is the same every time.
  const std::vector<double> values{1.0, 0.99, 0.5, 1.0, 0.98, 0.97};
  const auto [b_low, b_high] = metrics::mean_interval95(values);
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
  EXPECT_GE(b_low, 0.5);
  EXPECT_LE(b_high, 1.0);
  EXPECT_LT(b_low, mean);
  EXPECT_GT(b_high, mean);
  EXPECT_EQ(metrics::mean_interval95(values), std::make_pair(b_low, b_high));
  EXPECT_THROW(metrics::mean_interval95({0.5}), ArgumentError);
}

}  // namespace
}  // namespace whitebox::test
