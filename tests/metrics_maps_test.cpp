// Metrics of maps alone on crafted cases: localisation, complexity, agreement with a reference,
// and robustness with explainers whose change under a perturbation is known.
#include <gtest/gtest.h>

#include <cmath>

#include "methods/parameters.hpp"
#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/randomisation.hpp"

namespace whitebox::test {
namespace {

using namespace whitebox::metrics;
const auto kDouble = at::TensorOptions().dtype(at::kDouble);

// A 6x8 map whose maximum is at row 2, column 2.
at::Tensor peaked_map() {
  at::Tensor map = at::zeros({6, 8}, kDouble);
  map[2][2] = 5.0;
  map[2][5] = 1.0;
  return map;
}

TEST(MetricsLocalisation, BoxMaskTakesPixelsWhoseCentreIsInside) {
  const at::Tensor mask = box_mask({{1, 1, 3, 2}}, 4, 4);
  at::Tensor expected = at::zeros({4, 4}, at::kBool);
  expected[1][1] = true;
  expected[1][2] = true;
  EXPECT_TRUE(mask.equal(expected));
  EXPECT_EQ(box_mask({{0, 0, 1, 1}, {3, 3, 4, 4}}, 4, 4).sum().item<int64_t>(), 2);
  EXPECT_THROW(box_mask({{3, 0, 1, 1}}, 4, 4), InputError);
}

TEST(MetricsLocalisation, AnnotationsFollowTheCentralCropAndResize) {
  // A 200x100 photo, crop 0.5: the square of side 50 at (75, 25), resized to 10x10 (x 0.2).
  Preprocessing p = Preprocessing::preset("unit", 10, 10);
  p.crop = 0.5;
  const Box whole = box_to_input({75, 25, 125, 75}, 100, 200, p);
  EXPECT_DOUBLE_EQ(whole.x0, 0);
  EXPECT_DOUBLE_EQ(whole.y0, 0);
  EXPECT_DOUBLE_EQ(whole.x1, 10);
  EXPECT_DOUBLE_EQ(whole.y1, 10);
  const Box part = box_to_input({80, 30, 100, 50}, 100, 200, p);
  EXPECT_DOUBLE_EQ(part.x0, 1);
  EXPECT_DOUBLE_EQ(part.y1, 5);
  // A plane with the same block: 5x5 input pixels of 1 (bilinear, exact on 5-pixel blocks).
  at::Tensor plane = at::zeros({100, 200}, kDouble);
  plane.slice(0, 25, 50).slice(1, 75, 100).fill_(1.0);
  const at::Tensor input = plane_to_input(plane, p);
  ASSERT_EQ(input.sizes(), (at::IntArrayRef{10, 10}));
  EXPECT_NEAR(input.slice(0, 0, 5).slice(1, 0, 5).sum().item<double>(), 25.0, 1e-9);
  EXPECT_NEAR(input.sum().item<double>(), 25.0, 1e-9);
}

TEST(MetricsLocalisation, PointingGameHonoursTheTolerance) {
  at::Tensor mask = at::zeros({6, 8}, at::kBool);
  mask[2][5] = true;  // 3 pixels right of the peak
  EXPECT_FALSE(pointing_game(peaked_map(), mask, 2.9));
  EXPECT_TRUE(pointing_game(peaked_map(), mask, 3.0));
  mask[2][2] = true;
  EXPECT_TRUE(pointing_game(peaked_map(), mask, 0));
  at::Tensor diagonal = at::zeros({6, 8}, at::kBool);
  diagonal[5][6] = true;  // distance 5 (3-4-5)
  EXPECT_FALSE(pointing_game(peaked_map(), diagonal, 4.99));
  EXPECT_TRUE(pointing_game(peaked_map(), diagonal, 5));
}

TEST(MetricsLocalisation, EnergyAndMassCountThePositivePartInside) {
  at::Tensor map = peaked_map();
  map[0][0] = -3.0;  // negative relevance is ignored
  at::Tensor mask = at::zeros({6, 8}, at::kBool);
  mask[2][5] = true;
  mask[0][0] = true;
  EXPECT_NEAR(energy_pointing_game(map, mask), 1.0 / 6, 1e-12);
  EXPECT_NEAR(relevance_mass_accuracy(map, mask), 1.0 / 6, 1e-12);
}

TEST(MetricsLocalisation, RankAccuracyCountsTheTopKInside) {
  const at::Tensor map = at::arange(16, kDouble).view({4, 4});  // top 4: the last row
  at::Tensor mask = at::zeros({4, 4}, at::kBool);
  mask[3][0] = mask[3][1] = mask[2][3] = mask[0][0] = true;
  EXPECT_NEAR(relevance_rank_accuracy(map, mask), 0.5, 1e-12);
}

TEST(MetricsLocalisation, IouOfTheThresholdedMap) {
  const at::Tensor map = at::arange(16, kDouble).view({4, 4});  // >= 7.5: the 8 pixels 8..15
  at::Tensor mask = at::zeros({4, 4}, at::kBool);
  mask.slice(0, 2, 4).slice(1, 0, 2).fill_(true);  // 4 of them
  mask[0][0] = true;                               // and one outside
  EXPECT_NEAR(iou(map, mask, 0.5), 4.0 / 9, 1e-12);
}

TEST(MetricsLocalisation, TopKIntersectionAndAucByHand) {
  const at::Tensor map = at::arange(16, kDouble).view({4, 4});
  at::Tensor mask = at::zeros({4, 4}, at::kBool);
  mask[3][3] = mask[3][2] = mask[0][0] = true;                // values 15, 14 and 0
  EXPECT_NEAR(top_k_intersection(map, mask, 4), 0.5, 1e-12);  // 15, 14 of 15..12
  EXPECT_NEAR(top_k_intersection(map, mask, 1), 1.0, 1e-12);
  // 15 and 14 outrank all 13 outside pixels, 0 none: (13 + 13 + 0) / (3 * 13).
  EXPECT_NEAR(localisation_auc(map, mask), 26.0 / 39, 1e-12);
  EXPECT_NEAR(localisation_auc(at::ones({4, 4}, kDouble), mask), 0.5, 1e-12);  // all ties
  EXPECT_NEAR(localisation_auc(map, map >= 8), 1.0, 1e-12);
  EXPECT_NEAR(top_k_intersection(map, mask, 100), 3.0 / 16, 1e-12);  // k capped at 16 pixels
  EXPECT_THROW(top_k_intersection(map, mask, 0), ArgumentError);
  EXPECT_THROW(localisation_auc(map, at::ones({4, 4}, at::kBool)), InputError);
}

TEST(MetricsLocalisation, BadMasksThrowTypedErrors) {
  EXPECT_THROW(pointing_game(peaked_map(), at::zeros({6, 8}, at::kBool)), InputError);
  EXPECT_THROW(iou(peaked_map(), at::ones({8, 6}, at::kBool)), InputError);
  EXPECT_THROW(pointing_game(peaked_map(), at::ones({6, 8}, at::kBool), -1), ArgumentError);
}

TEST(MetricsComplexity, GiniAndEntropyOfKnownMaps) {
  const at::Tensor uniform = at::ones({4, 5}, kDouble);
  EXPECT_NEAR(sparseness(uniform), 0.0, 1e-12);
  EXPECT_NEAR(entropy(uniform), std::log(20.0), 1e-12);
  at::Tensor single = at::zeros({4, 5}, kDouble);
  single[1][3] = -2.0;  // magnitudes count
  EXPECT_NEAR(sparseness(single), 19.0 / 20, 1e-12);
  EXPECT_NEAR(entropy(single), 0.0, 1e-12);
  const at::Tensor half = at::tensor({0.0, 1.0, 0.0, 1.0}, kDouble).view({2, 2});
  EXPECT_NEAR(sparseness(half), 0.5, 1e-12);
  EXPECT_NEAR(entropy(half), std::log(2.0), 1e-12);
  EXPECT_NEAR(sparseness(at::zeros({3, 3}, kDouble)), 0.0, 1e-12);
  // Effective complexity: the share above eps in magnitude.
  EXPECT_NEAR(effective_complexity(single), 1.0 / 20, 1e-12);
  EXPECT_NEAR(effective_complexity(half, 1.0), 0.0, 1e-12);
  EXPECT_NEAR(effective_complexity(half, 0.5), 0.5, 1e-12);
  EXPECT_THROW(effective_complexity(half, -1), ArgumentError);
}

TEST(MetricsAgreement, IdenticalAndOppositeMaps) {
  const at::Tensor map = at::rand({7, 9}, kDouble);
  EXPECT_NEAR(pearson(map, map), 1.0, 1e-12);
  EXPECT_NEAR(pearson(map, -map), -1.0, 1e-12);
  EXPECT_NEAR(pearson(map, at::ones_like(map)), 0.0, 1e-12);
  EXPECT_NEAR(similarity(map, 3 * map), 1.0, 1e-12);
  EXPECT_NEAR(kl_divergence(map, 2 * map), 0.0, 1e-12);
}

TEST(MetricsAgreement, SimilarityAndKlByHand) {
  // As distributions: map (0, 1, 3) / 4, reference (0, 1, 1) / 2 (both min-shifted from 1).
  const at::Tensor map = at::tensor({1.0, 2.0, 4.0, 1.0}, kDouble).view({2, 2});
  const at::Tensor reference = at::tensor({1.0, 2.0, 2.0, 1.0}, kDouble).view({2, 2});
  EXPECT_NEAR(similarity(map, reference), 0.25 + 0.5, 1e-12);
  EXPECT_NEAR(kl_divergence(map, reference),
              0.5 * std::log(0.5 / 0.25) + 0.5 * std::log(0.5 / 0.75), 1e-12);
}

TEST(MetricsAgreement, NssAndAucJudd) {
  const at::Tensor map = at::tensor({4.0, 3.0, 2.0, 1.0}, kDouble).view({2, 2});
  const at::Tensor top = map >= 3;
  // Standardised map: (1.5, 0.5, -0.5, -1.5) / sqrt(1.25).
  EXPECT_NEAR(nss(map, top), 1.0 / std::sqrt(1.25), 1e-12);
  EXPECT_NEAR(auc_judd(map, top), 1.0, 1e-12);
  // Fixations on the two lowest: ROC (0, 0), (1, 0.5), (1, 1).
  EXPECT_NEAR(auc_judd(map, ~top), 0.25, 1e-12);
  EXPECT_TRUE(fixations_of(map, 0.7).equal(top));
  EXPECT_THROW(nss(map, at::zeros({2, 2}, at::kBool)), InputError);
  EXPECT_THROW(auc_judd(map, at::ones({2, 2}, at::kBool)), InputError);
  EXPECT_THROW(pearson(map, at::ones({3, 2}, kDouble)), InputError);
}

TEST(MetricsRobustness, SensitivityOfALinearExplainer) {
  // map(x) = 2 x[0]: the map moves by 2 ||d||.
  const Explainer twice = [](const at::Tensor& x) { return 2 * x.select(1, 0); };
  const at::Tensor image = at::ones({1, 3, 4}, kDouble);
  at::Tensor d = at::zeros({3, 1, 3, 4}, kDouble);
  d[0][0][0][0] = 0.1;
  d[1][0][1][1] = 0.3;
  d[2][0][2][2] = -0.2;
  RobustnessOptions o;
  o.batch = 2;
  o.normalize = false;
  Sensitivity s = sensitivity(twice, image, d, o);
  EXPECT_NEAR(s.max, 0.6, 1e-12);
  EXPECT_NEAR(s.average, 0.4, 1e-12);
  o.normalize = true;  // relative to ||map(x)|| = 2 sqrt(12)
  s = sensitivity(twice, image, d, o);
  EXPECT_NEAR(s.max, 0.6 / (2 * std::sqrt(12.0)), 1e-12);
  EXPECT_NEAR(local_lipschitz(twice, image, d, o), 2.0, 1e-12);
}

TEST(MetricsRobustness, LipschitzOfASquare) {
  // map = x^2 at x = 1: a change d on one pixel moves it by |2d + d^2|; the ratio is |2 + d|.
  const Explainer square = [](const at::Tensor& x) { return x.select(1, 0).pow(2); };
  const at::Tensor image = at::ones({1, 2, 2}, kDouble);
  at::Tensor d = at::zeros({2, 1, 2, 2}, kDouble);
  d[0][0][0][1] = 0.5;
  d[1][0][1][0] = -0.5;
  EXPECT_NEAR(local_lipschitz(square, image, d, {}), 2.5, 1e-12);
  // Random draws are seeded: the same options give the same estimate.
  RobustnessOptions o;
  o.samples = 4;
  EXPECT_EQ(local_lipschitz(square, image, o), local_lipschitz(square, image, o));
  EXPECT_NEAR(sensitivity(square, image, o).max, sensitivity(square, image, o).max, 0);
}

TEST(MetricsRegistry, NamesAreUniqueAndFound) {
  std::set<std::string> names;
  for (const auto& m : registry()) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name;
    EXPECT_FALSE(m.values.empty()) << m.name;
    EXPECT_EQ(&find_metric(m.name), &m);
  }
  EXPECT_THROW(find_metric("accuracy"), LookupError);
}

TEST(MetricsRegistry, RunsMapMetricsFromASample) {
  Sample s;
  s.map = at::arange(16, kDouble).view({4, 4});
  s.mask = s.map >= 12;
  s.reference = s.map.clone();
  for (const char* name :
       {"pointing-game", "energy-pointing-game", "relevance-mass", "relevance-rank", "iou",
        "top-k-intersection", "localisation-auc", "sparseness", "entropy", "effective-complexity",
        "cc", "sim", "kl", "nss", "auc-judd"}) {
    const MetricInfo& m = find_metric(name);
    const auto values = m.run(s, {});
    for (const auto& [value, higher] : m.values)
      EXPECT_TRUE(values.count(value)) << name << " " << value;
  }
  EXPECT_EQ(find_metric("pointing-game").run(s, {}).at("pointing_game"), 1.0);
  EXPECT_NEAR(find_metric("cc").run(s, {}).at("cc"), 1.0, 1e-12);
  Sample bare;
  bare.map = s.map;
  EXPECT_THROW(find_metric("iou").run(bare, {}), ArgumentError);
  EXPECT_THROW(find_metric("deletion").run(bare, {}), ArgumentError);
}

// Continuity of the channel-sum explainer, whose map changes by the channel sum of the input's
// change: the translations written out column by column.
TEST(MetricsRobustness, ContinuityIsTheLargestL1ChangeOverTheTranslation) {
  const at::Tensor x = at::arange(3 * 6 * 10, at::kDouble).view({3, 6, 10}).sin();
  const Explainer channel_sum = [](const at::Tensor& inputs) { return inputs.sum(1); };
  ContinuityOptions o;
  o.steps = 3;
  o.step = 2;
  o.batch = 2;
  double expected = 0;
  for (int64_t k = 1; k <= 3; ++k) {
    at::Tensor moved = at::zeros_like(x);
    for (int64_t j = 2 * k; j < 10; ++j) moved.select(2, j).copy_(x.select(2, j - 2 * k));
    const at::Tensor d = moved - x;
    expected = std::max(expected, d.sum(0).abs().sum().item<double>() / d.norm().item<double>());
  }
  EXPECT_NEAR(continuity(channel_sum, x, o), expected, 1e-12 * expected);
  const Explainer constant = [](const at::Tensor& inputs) {
    return at::ones({inputs.size(0), inputs.size(2), inputs.size(3)}, inputs.options());
  };
  EXPECT_EQ(continuity(constant, x, o), 0.0);
  o.steps = 5;
  EXPECT_THROW(continuity(channel_sum, x, o), ArgumentError);
}

// Focus: the mosaic's layout with constant images, the share of a crafted map, and a real run of
// Grad-CAM on the bundled MobileNetV2 with two other photos, through the registry.
TEST(MetricsLocalisation, FocusOnAMosaicOfTheImageAndTwoOthers) {
  const auto constant = [](double v) { return at::full({3, 6, 8}, v, at::kDouble); };
  const at::Tensor mosaic = focus_mosaic(constant(1), constant(2), constant(3));
  ASSERT_EQ(mosaic.sizes(), (std::vector<int64_t>{3, 6, 8}));
  EXPECT_EQ(mosaic[0][0][0].item<double>(), 1.0);
  EXPECT_EQ(mosaic[0][0][7].item<double>(), 2.0);
  EXPECT_EQ(mosaic[0][5][0].item<double>(), 3.0);
  EXPECT_EQ(mosaic[0][5][7].item<double>(), 1.0);
  const ClassExplainer top_left = [](const at::Tensor& inputs, int64_t) {
    at::Tensor m = -at::ones({inputs.size(0), inputs.size(2), inputs.size(3)}, inputs.options());
    m.narrow(1, 0, 3).narrow(2, 0, 4).fill_(2.0);
    return m;
  };
  const ClassExplainer blind = [](const at::Tensor& inputs, int64_t) {
    return at::ones({inputs.size(0), inputs.size(2), inputs.size(3)}, inputs.options());
  };
  EXPECT_EQ(focus(top_left, constant(1), constant(2), constant(3), 0), 1.0);
  EXPECT_EQ(focus(blind, constant(1), constant(2), constant(3), 0), 0.5);

  const Model model = Model::load(default_model());
  const at::Tensor x = preprocess(read_image(default_image()), model.preprocessing).tensor;
  Sample sample;
  sample.model = &model;
  sample.image = x[0];
  sample.cls = model.logits(x).argmax(1).item<int64_t>();
  sample.method = "gradcam";
  const std::string others =
      bundled("images/parrot.jpg").string() + "," + bundled("images/hot_dog.jpg").string();
  const double value = find_metric("focus").run(sample, Params().set("others", others)).at("focus");
  std::printf("Grad-CAM focus on chelsea.png with parrot.jpg and hot_dog.jpg: %.3f\n", value);
  EXPECT_GT(value, 0.6);  // 0.5 for a class-blind map
  EXPECT_THROW(
      find_metric("focus").run(sample, Params().set("others", others.substr(0, others.find(',')))),
      ArgumentError);
  EXPECT_THROW(find_metric("focus").run(
                   sample, Params().set("others", default_image().string() + "," + others)),
               ArgumentError);
}

// Input invariance on the bundled MobileNetV2 in float64: its first convolution pads with zeros,
// so the shifted model's compensation varies at the border; the shifted model must still compute
// the same logits. Gradients are then unchanged (saliency: 0), while gradient x input moves by
// exactly c sum_ch g, the hand-computed difference.
TEST(MetricsAxiomatic, InputInvarianceOnAModelWhoseFirstLayerAbsorbsTheShift) {
  const Model model = Model::load(default_model()).to(at::kDouble);
  const at::Tensor x =
      preprocess(read_image(default_image()), model.preprocessing).tensor.to(at::kDouble);
  const double c = -1.0;
  const Model shifted = shifted_input_model(model, c, x.size(2), x.size(3));
  const at::Tensor logits = model.logits(x);
  EXPECT_LT(relative_error(shifted.logits(x + c), logits), 1e-12);
  EXPECT_GT(relative_error(model.logits(x + c), logits), 1e-2);  // the shift does matter
  const int64_t cls = logits.argmax(1).item<int64_t>();
  Sample sample;
  sample.model = &model;
  sample.image = x[0];
  sample.cls = cls;
  const auto value = [&](const std::string& method) {
    sample.method = method;
    sample.map = explain(model, x, {method}, Target::index(cls)).at(method).map[0];
    return find_metric("input-invariance").run(sample, Params()).at("input_invariance");
  };
  EXPECT_LT(value("saliency"), 1e-10);
  EXPECT_LT(value("gradcam"), 1e-10);
  const at::Tensor g = model.gradient(model.forward(x), {cls})[0][0];
  const double expected =
      (c * g.sum(0)).abs().sum().item<double>() / (g * x[0]).sum(0).abs().sum().item<double>();
  EXPECT_NEAR(value("gradient-input"), expected, 1e-9 * expected);
  EXPECT_GT(expected, 0.1);
}

}  // namespace
}  // namespace whitebox::test

namespace whitebox::metrics {
namespace {

// Metric options are checked like methods' hyper-parameters: keys against what the chosen
// metrics read, values against their declared range.
TEST(MetricsRegistry, ParametersAreCheckedAgainstTheMetrics) {
  const auto message = [](const std::vector<std::string>& metrics, const Params& params) {
    try {
      whitebox::metrics::check_parameters(metrics, params);
    } catch (const ArgumentError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({"deletion", "iou"}, Params().set("steps", "3").set("threshold", "0.4")),
            "no error");
  EXPECT_EQ(message({"deletion"}, Params().set("stpes", "3"))
                .find("unknown parameter 'stpes' for deletion"),
            0u);
  EXPECT_NE(message({"deletion"}, Params().set("stpes", "3")).find("did you mean 'steps'?"),
            std::string::npos);
  EXPECT_NE(
      message({"iou"}, Params().set("steps", "3")).find("(a parameter of deletion, insertion"),
      std::string::npos);
  EXPECT_EQ(message({"pointing-game"}, Params().set("tolerance", "-1")),
            "parameter tolerance='-1': takes a number >= 0 (pointing-game)");
  EXPECT_EQ(message({"deletion"}, Params().set("substitution", "noise")),
            "parameter substitution='noise': takes one of blur, mean, zero, uniform (deletion)");
  // Every key a metric's run() reads is declared: run with all the declared keys at their
  // fallbacks where they are plain numbers.
  for (const MetricInfo& m : registry()) {
    for (const Hyperparameter& h : m.parameters) {
      EXPECT_FALSE(h.name.empty()) << m.name;
      if (h.type == Hyperparameter::Type::Integer || h.type == Hyperparameter::Type::Number ||
          h.type == Hyperparameter::Type::Choice) {
        EXPECT_NO_THROW(h.check(h.fallback)) << m.name << " " << h.name << "=" << h.fallback;
      }
    }
  }
}

// The library's option structs and the registry's declarations give each option one default: the
// CLI, the Python signatures and docs/metrics.md show the declared one (`whitebox compare` passes
// it), and the registry's run() falls back on the struct's when a key is not given.
// Declared defaults are written from numbers as the command line writes them.
TEST(MetricsRegistry, DeclaredNumbersAreWrittenAsTheyAreTyped) {
  using explainers::fallback_text;
  EXPECT_EQ(fallback_text(224), "224");
  EXPECT_EQ(fallback_text(5.0), "5");
  EXPECT_EQ(fallback_text(0.02), "0.02");
  EXPECT_EQ(fallback_text(-1.0), "-1");
  EXPECT_EQ(fallback_text(1e-5), "1e-5");
  EXPECT_EQ(fallback_text(1e20), "1e+20");
  EXPECT_EQ(explainers::number_parameter("eps", 1e-6, "", 0).fallback, "1e-6");
  EXPECT_EQ(explainers::integer_parameter("seed", uint64_t{0}, "", 0).fallback, "0");
  // Lists: ROAD's nine evenly spaced fractions shortened, ARCC's four in full.
  const auto fractions = [](const std::string& metric) {
    for (const Hyperparameter& h : find_metric(metric).parameters) {
      if (h.name == "fractions") return h.fallback;
    }
    return std::string("?");
  };
  EXPECT_EQ(fractions("road"), "0.1,...,0.9");
  EXPECT_EQ(fractions("arcc"), "0.2,0.4,0.6,0.8");
  EXPECT_EQ(fractions("sensitivity-n"), "0.001,0.01,0.1");
}

TEST(MetricsRegistry, DeclaredDefaultsAreTheOptionStructsDefaults) {
  const auto declared = [](const std::string& metric, const std::string& option) {
    for (const Hyperparameter& h : find_metric(metric).parameters) {
      if (h.name == option) return h.fallback;
    }
    ADD_FAILURE() << metric << " declares no option " << option;
    return std::string("?");
  };
  const auto number = [&](const std::string& metric, const std::string& option) {
    return std::stod(declared(metric, option));
  };
  const auto score = [](Score s) {
    return std::string(s == Score::Probability ? "probability" : "logit");
  };
  // The options every substitution-based metric has.
  const auto substitution = [&](const std::string& m, const auto& o) {
    EXPECT_EQ(declared(m, "substitution"), to_string(o.substitution)) << m;
    EXPECT_EQ(number(m, "blur_sigma"), o.blur_sigma) << m;
    EXPECT_EQ(number(m, "batch"), o.batch) << m;
    EXPECT_EQ(number(m, "seed"), o.seed) << m;
    EXPECT_EQ(declared(m, "score"), score(o.score)) << m;
  };
  for (const char* m : {"deletion", "insertion", "monotonicity"}) {
    const PerturbationOptions o;
    EXPECT_EQ(number(m, "steps"), o.steps) << m;
    substitution(m, o);
  }
  for (const char* m : {"pixel-flipping", "region-perturbation", "selectivity"}) {
    const FlippingOptions o;
    EXPECT_EQ(number(m, "region"), o.region) << m;
    EXPECT_EQ(number(m, "steps"), o.steps) << m;
    substitution(m, o);
  }
  {
    const IrofOptions o;
    EXPECT_EQ(number("irof", "region"), o.region);
    EXPECT_EQ(number("irof", "ruler"), o.ruler);
    substitution("irof", o);
  }
  for (const char* m : {"road", "arcc"}) {
    const RoadOptions o;
    EXPECT_EQ(number(m, "noise"), o.noise) << m;
    EXPECT_EQ(number(m, "batch"), o.batch) << m;
    EXPECT_EQ(number(m, "seed"), o.seed) << m;
  }
  EXPECT_EQ(declared("road", "score"), score(RoadOptions{}.score));
  for (const char* m : {"faithfulness-correlation", "sensitivity-n"}) {
    const CorrelationOptions o;
    EXPECT_EQ(number(m, "samples"), o.samples) << m;
    EXPECT_EQ(number(m, "subset_size"), o.subset_size) << m;
    substitution(m, o);
  }
  {
    const MuFidelityOptions o;
    EXPECT_EQ(number("mufidelity", "samples"), o.samples);
    EXPECT_EQ(number("mufidelity", "grid"), o.grid);
    EXPECT_EQ(number("mufidelity", "subset_fraction"), o.subset_fraction);
    substitution("mufidelity", o);
  }
  {
    const InfidelityOptions o;
    EXPECT_EQ(number("infidelity", "samples"), o.samples);
    EXPECT_EQ(number("infidelity", "noise"), o.noise);
    EXPECT_EQ(number("infidelity", "normalize"), o.normalize ? 1 : 0);
    EXPECT_EQ(number("infidelity", "batch"), o.batch);
    EXPECT_EQ(number("infidelity", "seed"), o.seed);
    EXPECT_EQ(declared("infidelity", "score"), score(o.score));
  }
  for (const char* m : {"monotonicity-correlation", "non-sensitivity"}) {
    const RegionEffectOptions o;
    EXPECT_EQ(number(m, "region"), o.region) << m;
    EXPECT_EQ(number(m, "samples"), o.samples) << m;
    EXPECT_EQ(number(m, "batch"), o.batch) << m;
    EXPECT_EQ(number(m, "seed"), o.seed) << m;
    EXPECT_EQ(declared(m, "score"), score(o.score)) << m;
  }
  for (const char* m : {"sensitivity", "local-lipschitz"}) {
    const RobustnessOptions o;
    EXPECT_EQ(number(m, "samples"), o.samples) << m;
    EXPECT_EQ(number(m, "radius"), o.radius) << m;
    EXPECT_EQ(number(m, "normalize"), o.normalize ? 1 : 0) << m;
    EXPECT_EQ(number(m, "batch"), o.batch) << m;
    EXPECT_EQ(number(m, "seed"), o.seed) << m;
  }
  {
    const ContinuityOptions o;
    EXPECT_EQ(number("continuity", "steps"), o.steps);
    EXPECT_EQ(number("continuity", "step"), o.step);
    EXPECT_EQ(number("continuity", "batch"), o.batch);
  }
  {
    const StabilityOptions o;
    EXPECT_EQ(number("relative-stability", "samples"), o.samples);
    EXPECT_EQ(number("relative-stability", "radius"), o.radius);
    EXPECT_EQ(number("relative-stability", "eps"), o.eps);
    EXPECT_EQ(number("relative-stability", "batch"), o.batch);
    EXPECT_EQ(number("relative-stability", "seed"), o.seed);
  }
  {
    const RandomisationOptions o;
    for (const char* m : {"random-logit", "efficient-mprt", "smooth-mprt"})
      EXPECT_EQ(number(m, "seed"), o.seed) << m;
    EXPECT_EQ(number("smooth-mprt", "noise"), o.smooth_noise);
  }
}

}  // namespace
}  // namespace whitebox::metrics
