// TCAV (whitebox/tcav.hpp): the t distribution and t-test against scipy's values and closed
// forms, the CAV's logistic regression against its optimality conditions, and the whole test on
// the fixture network trained where a red square decides the class (tests/fixtures, tcav_cnn).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "whitebox/image.hpp"
#include "whitebox/tcav.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

// ---- statistics (no fixtures) ------------------------------------------------------------

TEST(MethodsTcavStatistics, IncompleteBetaMatchesScipy) {
  // scipy.special.betainc (scipy 1.10.1).
  EXPECT_NEAR(incomplete_beta(2, 3, 0.5), 0.6875, 1e-15);
  EXPECT_NEAR(incomplete_beta(0.5, 0.5, 0.1), 0.2048327646991335, 1e-13);
  EXPECT_NEAR(incomplete_beta(10, 0.5, 0.9), 0.15164090963470997, 1e-13);
  EXPECT_NEAR(incomplete_beta(50, 60, 0.45), 0.4642352914306064, 1e-12);
  EXPECT_NEAR(incomplete_beta(2.5, 0.5, 0.999), 0.9463423453081864, 1e-13);
  EXPECT_EQ(incomplete_beta(3, 4, 0), 0);
  EXPECT_EQ(incomplete_beta(3, 4, 1), 1);
  // I_x(a, b) = 1 - I_{1-x}(b, a), and I_x(1, 1) = x.
  EXPECT_NEAR(incomplete_beta(3.5, 1.5, 0.3) + incomplete_beta(1.5, 3.5, 0.7), 1, 1e-14);
  EXPECT_NEAR(incomplete_beta(1, 1, 0.37), 0.37, 1e-15);
  EXPECT_THROW(incomplete_beta(0, 1, 0.5), ArgumentError);
  EXPECT_THROW(incomplete_beta(1, 1, 1.5), ArgumentError);
}

TEST(MethodsTcavStatistics, StudentTMatchesScipyAndClosedForms) {
  // scipy.stats.t.cdf (scipy 1.10.1).
  const struct {
    double t, df, cdf;
  } known[] = {{2.0, 5, 0.9490302605850709},
               {-1.3, 18, 0.10500120953565502},
               {0.5, 1, 0.6475836176504333},
               {3.0, 2, 0.9522670168666454},
               {1.96, 1000, 0.9748634075221256},
               {-4.2, 9, 0.0011533462532701188},
               {0.0, 7, 0.5},
               {12.0, 3, 0.9993774920996054}};
  for (const auto& k : known)
    EXPECT_NEAR(student_t_cdf(k.t, k.df), k.cdf, 1e-12) << k.t << " " << k.df;
  // One degree of freedom is Cauchy's distribution, two have F(t) = 1/2 + t / (2 sqrt(2 + t^2)).
  for (double t : {-7.0, -0.3, 0.8, 25.0}) {
    EXPECT_NEAR(student_t_cdf(t, 1), 0.5 + std::atan(t) / M_PI, 1e-14) << t;
    EXPECT_NEAR(student_t_cdf(t, 2), 0.5 + t / (2 * std::sqrt(2 + t * t)), 1e-14) << t;
  }
  // The t-table: the two-sided 5% critical value with 18 degrees of freedom is 2.101.
  EXPECT_NEAR(student_t_cdf(2.1009220402410378, 18), 0.975, 1e-12);
  EXPECT_EQ(student_t_cdf(HUGE_VAL, 4), 1);
  EXPECT_THROW(student_t_cdf(1, 0), ArgumentError);
}

TEST(MethodsTcavStatistics, TTestMatchesScipy) {
  // scipy.stats.ttest_ind (equal variances, two-sided), scipy 1.10.1.
  const TTest apart = t_test({0.9, 1.0, 0.95, 1.0, 0.85, 1.0, 0.9, 0.95, 1.0, 1.0},
                             {0.2, 0.7, 0.55, 0.1, 0.9, 0.4, 0.65, 0.3, 0.05, 0.5});
  EXPECT_NEAR(apart.t, 5.844295464269772, 1e-12);
  EXPECT_EQ(apart.df, 18);
  EXPECT_NEAR(apart.p_value, 1.5527066357473385e-05, 1e-15);
  const TTest close =
      t_test({0.5, 0.45, 0.62, 0.4, 0.55}, {0.48, 0.52, 0.6, 0.35, 0.5, 0.44, 0.58});
  EXPECT_NEAR(close.t, 0.16619961886617254, 1e-12);
  EXPECT_EQ(close.df, 10);
  EXPECT_NEAR(close.p_value, 0.871312145221035, 1e-12);
  // Samples without spread: p is 0 where the means differ, 1 where they agree.
  EXPECT_EQ(t_test({1, 1, 1}, {0, 0, 0}).p_value, 0);
  EXPECT_EQ(t_test({0.35, 0.35}, {0.35, 0.35, 0.35}).p_value, 1);
  EXPECT_THROW(t_test({1}, {0, 1}), ArgumentError);
}

// ---- the CAV (no fixtures) ----------------------------------------------------------------

// n examples of D features on each side, the positive ones shifted along `shift`, noisy enough
// not to be separable when D is small.
std::pair<at::Tensor, at::Tensor> examples(int64_t n, int64_t d, double shift, uint64_t seed) {
  const auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor direction = at::zeros({d}, at::kDouble);
  direction[0] = 1;
  const at::Tensor positive = at::normal(0, 1, {n, d}, gen, at::kDouble) + shift * direction;
  const at::Tensor negative = at::normal(0, 1, {n, d}, gen, at::kDouble);
  return {positive, negative};
}

TEST(MethodsTcavCav, MeetsTheOptimalityConditionsOfItsLogisticRegression) {
  const struct {
    int64_t n, d;
    double shift, alignment;
  } cases[] = {{40, 3, 1.5, 0.9}, {12, 500, 4.0, 0.25}};
  for (const auto& [n, d, shift, alignment] : cases) {
    const auto [positive, negative] = examples(n, d, shift, 7);
    const double regularisation = 0.05;
    const Cav cav = fit_cav(positive, negative, regularisation);
    ASSERT_NEAR(cav.direction.norm().item<double>(), 1, 1e-12);
    // The gradient of sum_i log(1 + exp(-y_i ((x_i - mean) . w + b))) + lambda / 2 |w|^2, with
    // lambda = regularisation * the mean squared distance of the examples from their mean,
    // vanishes at the fit: w = length * direction, (x - mean) . w + b = length (x . direction +
    // bias).
    const at::Tensor x = at::cat({positive, negative});
    at::Tensor y = at::ones({2 * n}, at::kDouble);
    y.narrow(0, n, n).fill_(-1);
    const at::Tensor centred = x - x.mean(0, true);
    const double lambda = regularisation * centred.pow(2).sum().item<double>() / (2 * n);
    const at::Tensor w = cav.length * cav.direction;
    const at::Tensor margins = y * cav.length * (x.mv(cav.direction) + cav.bias);
    const at::Tensor pull = y * at::sigmoid(-margins);
    const at::Tensor gradient = lambda * w - centred.t().mv(pull);
    EXPECT_LT(gradient.norm().item<double>(), 1e-9 * (lambda * w.norm().item<double>())) << d;
    EXPECT_LT(std::abs(pull.sum().item<double>()), 1e-9) << d;
    // The shifted feature decides (in 500 dimensions, 12 examples leave much noise).
    EXPECT_GT(cav.direction[0].item<double>(), alignment) << d;
  }
}

TEST(MethodsTcavCav, IsDeterministicAndIndependentOfTheLayersScale) {
  const auto [positive, negative] = examples(15, 300, 2.0, 3);
  const Cav once = fit_cav(positive, negative);
  const Cav again = fit_cav(positive, negative);
  EXPECT_TRUE(at::equal(once.direction, again.direction));
  const Cav scaled = fit_cav(positive * 1000, negative * 1000);
  EXPECT_LT((scaled.direction - once.direction).norm().item<double>(), 1e-9);
  // Every example on its side: with more features than examples they are separable.
  EXPECT_TRUE((positive.mv(once.direction) + once.bias > 0).all().item<bool>());
  EXPECT_TRUE((negative.mv(once.direction) + once.bias < 0).all().item<bool>());
  // Float32 rows give the float64 fit of their values.
  const Cav single = fit_cav(positive.to(at::kFloat), negative.to(at::kFloat));
  EXPECT_LT((single.direction - once.direction).norm().item<double>(), 1e-5);
}

TEST(MethodsTcavCav, RejectsExamplesThatNothingSeparates) {
  const at::Tensor same = at::ones({4, 10}, at::kDouble);
  EXPECT_NE(message_of<InputError>([&] { fit_cav(same, same); }).find("same activations"),
            std::string::npos);
  EXPECT_THROW(fit_cav(same, same, 0), ArgumentError);
  EXPECT_THROW(fit_cav(same, at::ones({4, 9}, at::kDouble)), InputError);
  EXPECT_THROW(fit_cav(same, at::full({4, 10}, NAN, at::kDouble)), InputError);
}

// ---- the fixture network ------------------------------------------------------------------

struct TcavCase {
  fs::path dir = fixture("tcav_cnn");
  nlohmann::json meta = nlohmann::json::parse(read_text(dir / "meta.json"));
  Model model = Model::load(dir / "model.onnx");
  at::Tensor folder(const std::string& name) const {
    return read_inputs(dir / name, model.preprocessing);
  }
  std::vector<ConceptExamples> concepts() const {
    return {{"square", folder("concept_square")},
            {"stripes", folder("concept_stripes")},
            {"noise", folder("concept_noise")}};
  }
};

const TcavCase& tcav_case() {
  static const TcavCase* instance = [] {
    EXPECT_TRUE(has_fixture("tcav_cnn")) << "run the 'fixtures' test first";
    return new TcavCase;
  }();
  return *instance;
}

TEST(MethodsTcav, TheConceptThatDecidesTheClassIsSignificantAndNoiseIsNot) {
  ASSERT_TRUE(has_fixture("tcav_cnn")) << "run the 'fixtures' test first";
  const TcavCase& c = tcav_case();
  const TcavResult result =
      tcav(c.model, c.meta["layer_node"].get<std::string>(), c.concepts(), c.folder("random"),
           c.folder("class_square"), Target::named("square"));
  EXPECT_EQ(result.layer, c.meta["layer"].get<std::string>());
  EXPECT_EQ(result.target, 1);
  EXPECT_EQ(result.images, 40);
  EXPECT_EQ(result.examples, 15);  // a quarter of 60 concept images and of half 120 random ones
  ASSERT_EQ(result.random_scores.size(), 10u);
  ASSERT_EQ(result.concepts.size(), 3u);
  const TcavConcept& square = result.concepts[0];
  const TcavConcept& stripes = result.concepts[1];
  const TcavConcept& noise = result.concepts[2];
  // The red square: the class's logit rises along its CAV on (nearly) every image, and the layer
  // tells it from noise. (Over the seeds 0 to 29, p is at most 0.034 for the square and the
  // stripes, and at least 0.18 for the noise.)
  EXPECT_GT(square.mean, 0.95);
  EXPECT_LT(square.p_value, 0.05);
  EXPECT_TRUE(square.significant);
  EXPECT_GT(square.cav_accuracy, 0.85);
  // More noise as a concept: no different from the random images, and no CAV tells it apart.
  EXPECT_GT(noise.p_value, 0.05);
  EXPECT_FALSE(noise.significant);
  EXPECT_LT(noise.cav_accuracy, 0.7);
  // The stripes do not decide the class, but the network's logit falls where they are drawn
  // (the generator measured it): TCAV finds that, with a score near 0.
  ASSERT_LT(c.meta["stripes_logit_change"].get<double>(), 0);
  EXPECT_LT(stripes.mean, 0.1);
  EXPECT_TRUE(stripes.significant);
  EXPECT_GT(stripes.cav_accuracy, 0.85);
}

TEST(MethodsTcav, DrawsFollowTheSeed) {
  ASSERT_TRUE(has_fixture("tcav_cnn")) << "run the 'fixtures' test first";
  const TcavCase& c = tcav_case();
  const std::vector<ConceptExamples> noise = {{"noise", c.folder("concept_noise")}};
  const at::Tensor random = c.folder("random"), images = c.folder("class_square");
  const std::string layer = c.meta["layer"];
  TcavOptions options;
  options.runs = 4;
  const TcavResult once = tcav(c.model, layer, noise, random, images, Target::index(1), options);
  const TcavResult again = tcav(c.model, layer, noise, random, images, Target::index(1), options);
  EXPECT_EQ(once.concepts[0].scores, again.concepts[0].scores);
  EXPECT_EQ(once.random_scores, again.random_scores);
  options.seed = 1;
  const TcavResult other = tcav(c.model, layer, noise, random, images, Target::index(1), options);
  EXPECT_NE(once.concepts[0].cav_accuracies, other.concepts[0].cav_accuracies);
  // Bonferroni over one concept changes nothing; alpha sets the threshold.
  options.bonferroni = true;
  options.alpha = 0.2;
  EXPECT_EQ(tcav(c.model, layer, noise, random, images, Target::index(1), options).threshold, 0.2);
}

TEST(MethodsTcav, BadInputIsNamed) {
  ASSERT_TRUE(has_fixture("tcav_cnn")) << "run the 'fixtures' test first";
  const TcavCase& c = tcav_case();
  const std::vector<ConceptExamples> square = {{"square", c.folder("concept_square")}};
  const at::Tensor random = c.folder("random"), images = c.folder("class_square");
  const std::string layer = c.meta["layer"];
  const auto run = [&](const std::vector<ConceptExamples>& concepts, const at::Tensor& pool,
                       const std::string& at, const Target& target, const TcavOptions& options) {
    tcav(c.model, at, concepts, pool, images, target, options);
  };
  TcavOptions one_run;
  one_run.runs = 1;
  EXPECT_NE(message_of<ArgumentError>([&] {
              run(square, random, layer, Target::index(1), one_run);
            }).find("runs must be >= 2"),
            std::string::npos);
  EXPECT_NE(message_of<LookupError>([&] {
              run(square, random, "no_such_layer", Target::index(1), {});
            }).find("no_such_layer"),
            std::string::npos);
  // Too few images for the examples a run draws.
  TcavOptions eleven;
  eleven.examples = 11;
  const std::vector<ConceptExamples> few = {{"few", square[0].images.narrow(0, 0, 2)}};
  EXPECT_NE(message_of<ArgumentError>([&] {
              run(few, random, layer, Target::index(1), {});
            }).find("concept 'few' has 2 images"),
            std::string::npos);
  EXPECT_NE(message_of<ArgumentError>([&] {
              run(square, random.narrow(0, 0, 20), layer, Target::index(1), eleven);
            }).find("random images are 20"),
            std::string::npos);
  // A rank target that picks different classes among the images.
  const at::Tensor mixed = at::cat({images.narrow(0, 0, 2), random.narrow(0, 0, 2)});
  EXPECT_NE(message_of<ArgumentError>([&] {
              tcav(c.model, layer, square, random, mixed, Target::top(), {});
            }).find("TCAV scores one class"),
            std::string::npos);
  // An empty folder, a missing one.
  TempDir empty;
  EXPECT_THROW(read_inputs(empty.path(), c.model.preprocessing), InputError);
  EXPECT_THROW(read_inputs(empty / "missing", c.model.preprocessing), FileError);
}

}  // namespace
}  // namespace whitebox::test
