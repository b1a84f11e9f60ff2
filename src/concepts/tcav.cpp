// TCAV: concept activation vectors by logistic regression in the span of their examples, TCAV
// scores from one gradient pass over the class's images, and Student's t-test against CAVs of
// random images.
#include "whitebox/tcav.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox {
namespace {

// ---- drawing examples --------------------------------------------------------------------

// Seeded draws that are the same with every standard library: mt19937_64 is specified to the
// bit, and the bounded integers and the shuffle are ours.
class Draws {
 public:
  explicit Draws(uint64_t seed) : engine_(seed) {}
  // 0..n-1 in an order whose first k are a uniform draw of k without replacement (a partial
  // Fisher-Yates shuffle); the rest are the undrawn ones.
  std::vector<int64_t> first(int64_t n, int64_t k) {
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = 0; i < k; ++i) std::swap(order[i], order[i + below(n - i)]);
    return order;
  }

 private:
  int64_t below(int64_t n) {  // uniform in [0, n), by rejection
    const uint64_t range = static_cast<uint64_t>(n);
    const uint64_t limit =
        std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
    uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return static_cast<int64_t>(x % range);
  }
  std::mt19937_64 engine_;
};

// ---- the classifier ----------------------------------------------------------------------

// A linear classifier w . x + offset of activations x, with w = sum_i c_i x_i over its examples.
struct Fit {
  at::Tensor coefficients;  // c [n] float64, summing to 0
  double offset = 0;
  double norm = 0;  // |w|
};

// sum_i log(1 + exp(-margin_i)), overflow-free.
double logistic_loss(const at::Tensor& margins) {
  return (at::log1p(at::exp(-margins.abs())) + at::relu(-margins)).sum().item<double>();
}

// L2-regularised logistic regression of labels y (+1 / -1) on examples given by their Gram
// matrix K = X X^T [n, n] (float64). The optimal w lies in the span of the centred examples
// X_c = X - mean (a component outside it changes no margin that the unpenalised intercept does
// not absorb, and adds to the penalty), whose coordinates are Z = Q sqrt(L) for the eigenvectors Q
// and eigenvalues L of K_c = X_c X_c^T: the problem becomes one in at most n dimensions whatever
// the layer's size, strictly convex for any data, solved to machine precision by damped Newton
// steps. Deterministic: no learning rate, no sampling, no early stopping by validation.
Fit fit_logistic(const at::Tensor& gram, const at::Tensor& y, double regularisation,
                 const std::string& what) {
  const int64_t n = gram.size(0);
  const at::Tensor centred = gram - gram.mean(0, true) - gram.mean(1, true) + gram.mean();
  const double spread = centred.trace().item<double>() / static_cast<double>(n);
  if (!(spread > 0)) {
    throw InputError(what +
                     ": the examples all have the same activations, so no direction "
                     "separates them");
  }
  auto [values, vectors] = at::linalg_eigh(centred);
  const at::Tensor kept = values > values.max() * 1e-12;
  const at::Tensor scale = values.index({kept}).sqrt();
  const at::Tensor basis = vectors.index({at::indexing::Slice(), kept});
  const at::Tensor z = basis * scale;  // [n, r]
  const int64_t r = z.size(1);
  const double lambda = regularisation * spread;

  // theta = (beta [r], intercept); margins m_i = y_i (z_i . beta + intercept).
  const at::Tensor design = at::cat({z, at::ones({n, 1}, z.options())}, 1);  // [n, r + 1]
  at::Tensor penalty = at::full({r + 1}, lambda, z.options());
  penalty[r] = 0;
  const auto objective = [&](const at::Tensor& theta) {
    return logistic_loss(y * design.mv(theta)) +
           0.5 * (penalty * theta * theta).sum().item<double>();
  };
  at::Tensor theta = at::zeros({r + 1}, z.options());
  double current = objective(theta);
  for (int iteration = 0; iteration < 200; ++iteration) {
    const at::Tensor margins = y * design.mv(theta);
    const at::Tensor wrong = at::sigmoid(-margins);  // 1 - p(y_i | x_i)
    const at::Tensor gradient = design.t().mv(-y * wrong) + penalty * theta;
    const at::Tensor curvature = wrong * (1 - wrong);
    at::Tensor hessian = design.t().mm(design * curvature.unsqueeze(1)) + at::diag(penalty);
    // Positive definite already (the penalty, and the intercept's curvature sum); a relative
    // 1e-14 on the diagonal keeps it so where margins grow large and curvatures underflow.
    hessian.diagonal().add_(1e-14 * hessian.diagonal().max().item<double>());
    const at::Tensor step = at::linalg_solve(hessian, gradient);
    const double decrement = gradient.dot(step).item<double>();
    if (!(decrement > 1e-24 * (1 + current))) break;
    // Backtracking on the objective (Armijo), as Newton's full step may overshoot far from
    // the optimum.
    double length = 1;
    at::Tensor next = theta - step;
    double value = objective(next);
    while (value > current - 0.25 * length * decrement && length > 1e-12) {
      length *= 0.5;
      next = theta - length * step;
      value = objective(next);
    }
    if (!(value < current)) break;
    theta = next;
    current = value;
  }
  // w = X_c^T Q L^{-1/2} beta = X^T (a - mean(a)) with a = Q L^{-1/2} beta; on an example x,
  // (x - mean) . w + intercept = x . w - mean(K c) + intercept.
  const at::Tensor beta = theta.narrow(0, 0, r);
  at::Tensor a = basis.mv(beta / scale);
  Fit fit;
  fit.coefficients = a - a.mean();
  fit.offset = theta[r].item<double>() - gram.mv(fit.coefficients).mean().item<double>();
  fit.norm = beta.norm().item<double>();
  if (!(fit.norm > 0) || !std::isfinite(fit.norm)) {
    throw InputError(what +
                     ": the logistic regression found no direction that separates the "
                     "examples");
  }
  return fit;
}

// a b^T in float64 [rows of a, rows of b] on the CPU, from rows of activations of any floating
// type, in blocks of columns so that no float64 copy of a whole layer is made.
at::Tensor products(const at::Tensor& a, const at::Tensor& b) {
  const int64_t columns = a.size(1);
  const int64_t block =
      std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, a.size(0) + b.size(0)));
  at::Tensor out = at::zeros({a.size(0), b.size(0)}, a.options().dtype(at::kDouble));
  for (int64_t start = 0; start < columns; start += block) {
    const int64_t size = std::min(block, columns - start);
    out.addmm_(a.narrow(1, start, size).to(at::kDouble),
               b.narrow(1, start, size).to(at::kDouble).t());
  }
  return out.to(at::kCPU);
}

// ---- the network -------------------------------------------------------------------------

void check_images(const at::Tensor& images, const std::string& what) {
  if (!images.defined() || images.dim() != 4) {
    throw InputError(
        what + " must be a batch of images [N, C, H, W]" +
        (images.defined() ? ", not a tensor of shape " + c10::str(images.sizes()) : ""));
  }
}

// The activations at `layer` of each image, one row each [N, D], in the model's type.
at::Tensor activations(const Model& model, ValueId layer, const at::Tensor& images, int64_t batch) {
  TraceOptions options;
  options.outputs_only = true;
  options.keep = {layer};
  options.until = std::vector<ValueId>{layer};
  std::vector<at::Tensor> rows;
  for (int64_t start = 0; start < images.size(0); start += batch) {
    const int64_t size = std::min(batch, images.size(0) - start);
    const Trace trace = model.forward(images.narrow(0, start, size), options);
    rows.push_back(trace[layer].reshape({size, -1}));
    inputs_done(size);
  }
  return at::cat(rows);
}

// The gradients of the class's logit at `layer` [N, D] of each image, and the class (one for all).
std::pair<at::Tensor, int64_t> class_gradients(const Model& model, ValueId layer,
                                               const at::Tensor& images, const Target& target,
                                               int64_t batch) {
  TraceOptions options;
  options.lean = true;
  options.keep = {layer};
  options.sweep_stops = std::vector<ValueId>{layer};
  std::vector<at::Tensor> rows;
  int64_t cls = -1;
  for (int64_t start = 0; start < images.size(0); start += batch) {
    const int64_t size = std::min(batch, images.size(0) - start);
    Trace trace = model.forward(images.narrow(0, start, size), options);
    const std::vector<int64_t> classes = target.resolve(model, trace[model.output()]);
    for (int64_t c : classes) {
      if (cls < 0) cls = c;
      if (c != cls) {
        throw ArgumentError("the target resolves to classes " + std::to_string(cls) + " and " +
                            std::to_string(c) +
                            " among the images: TCAV scores one class; give its index or label");
      }
    }
    rows.push_back(model.gradient(std::move(trace), classes, {layer})[0].reshape({size, -1}));
    inputs_done(size);
  }
  return {at::cat(rows), cls};
}

// The mean; exactly the value of equal values, so that two samples without spread compare exactly.
double mean_of(const std::vector<double>& values) {
  if (std::all_of(values.begin(), values.end(), [&](double v) { return v == values[0]; }))
    return values[0];
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

// The sample variance (n - 1); exactly 0 for equal values.
double variance_of(const std::vector<double>& values) {
  if (std::all_of(values.begin(), values.end(), [&](double v) { return v == values[0]; })) return 0;
  const double mean = mean_of(values);
  double sum = 0;
  for (double v : values) sum += (v - mean) * (v - mean);
  return sum / static_cast<double>(values.size() - 1);
}

at::Tensor indices(const std::vector<int64_t>& rows) {
  return at::tensor(rows, at::TensorOptions().dtype(at::kLong));
}

// Rows `from` of a row range starting at `offset`, as indices of the whole pool.
std::vector<int64_t> shifted(std::vector<int64_t>::const_iterator begin,
                             std::vector<int64_t>::const_iterator end, int64_t offset) {
  std::vector<int64_t> rows;
  for (auto it = begin; it != end; ++it) rows.push_back(*it + offset);
  return rows;
}

}  // namespace

// ---- statistics --------------------------------------------------------------------------

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1)) {
    throw ArgumentError("the incomplete beta function takes a, b > 0 and x in [0, 1], not a = " +
                        std::to_string(a) + ", b = " + std::to_string(b) +
                        ", x = " + std::to_string(x));
  }
  if (x == 0 || x == 1) return x;
  // The continued fraction converges fast for x below the mean (a + 1) / (a + b + 2);
  // above it, I_x(a, b) = 1 - I_{1-x}(b, a).
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(b, a, 1 - x);
  // I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) / (1 + d_1 / (1 + d_2 / (1 + ...))), with
  // d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) and
  // d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)), evaluated forwards by Lentz's method: the
  // fraction is the product of the ratios C_j / D_j of successive convergents.
  const double log_front = a * std::log(x) + b * std::log1p(-x) + std::lgamma(a + b) -
                           std::lgamma(a) - std::lgamma(b) - std::log(a);
  constexpr double tiny = 1e-300;
  const auto guarded = [](double v) { return std::fabs(v) < tiny ? tiny : v; };
  double c = 1, d = 1 / guarded(1 - (a + b) * x / (a + 1));
  double fraction = d;
  for (int m = 1; m <= 100000; ++m) {
    const double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / guarded(1 + even * d);
    c = guarded(1 + even / c);
    fraction *= c * d;
    const double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / guarded(1 + odd * d);
    c = guarded(1 + odd / c);
    const double ratio = c * d;
    fraction *= ratio;
    if (std::fabs(ratio - 1) < 1e-16) break;
  }
  return std::exp(log_front) * fraction;
}

double student_t_cdf(double t, double df) {
  if (!(df > 0)) throw ArgumentError("the t distribution needs df > 0, not " + std::to_string(df));
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  // P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2).
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
  return t > 0 ? 1 - tail : tail;
}

TTest t_test(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2 || b.size() < 2) {
    throw ArgumentError("a t-test needs at least two values in each sample, not " +
                        std::to_string(a.size()) + " and " + std::to_string(b.size()));
  }
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  TTest test;
  test.df = na + nb - 2;
  const double pooled = ((na - 1) * variance_of(a) + (nb - 1) * variance_of(b)) / test.df;
  const double difference = mean_of(a) - mean_of(b);
  const double error = std::sqrt(pooled * (1 / na + 1 / nb));
  if (error == 0) {
    test.t = difference == 0 ? 0 : std::copysign(HUGE_VAL, difference);
    test.p_value = difference == 0 ? 1 : 0;
    return test;
  }
  test.t = difference / error;
  test.p_value = incomplete_beta(test.df / 2, 0.5, test.df / (test.df + test.t * test.t));
  return test;
}

// ---- CAVs and TCAV -----------------------------------------------------------------------

Cav fit_cav(const at::Tensor& positive, const at::Tensor& negative, double regularisation) {
  if (!(regularisation > 0)) {
    throw ArgumentError("regularisation must be > 0, not " + std::to_string(regularisation));
  }
  if (positive.dim() != 2 || negative.dim() != 2 || positive.size(1) != negative.size(1) ||
      positive.size(0) < 1 || negative.size(0) < 1) {
    throw InputError("a CAV needs rows of activations [n, D] on each side, not " +
                     c10::str(positive.sizes()) + " and " + c10::str(negative.sizes()));
  }
  const at::Tensor rows = at::cat({positive, negative}).to(at::kCPU, at::kDouble);
  if (!at::isfinite(rows).all().item<bool>())
    throw InputError("a CAV's activations are not finite");
  const int64_t n = rows.size(0);
  at::Tensor y = at::ones({n}, rows.options());
  y.narrow(0, positive.size(0), negative.size(0)).fill_(-1);
  const Fit fit = fit_logistic(products(rows, rows), y, regularisation, "CAV");
  Cav cav;
  cav.direction = rows.t().mv(fit.coefficients) / fit.norm;
  cav.bias = fit.offset / fit.norm;
  cav.length = fit.norm;
  return cav;
}

at::Tensor read_inputs(const std::filesystem::path& folder, const Preprocessing& preprocessing) {
  std::vector<at::Tensor> inputs;
  for (const auto& file : image_files(folder)) {
    inputs.push_back(preprocess(read_image(file), preprocessing).tensor);
  }
  return at::cat(inputs);
}

TcavResult tcav(const Model& model, const std::string& layer_name,
                const std::vector<ConceptExamples>& concepts, const at::Tensor& random,
                const at::Tensor& images, const Target& target, const TcavOptions& options) {
  if (options.runs < 2) {
    throw ArgumentError("runs must be >= 2 (the t-test compares two samples of scores), not " +
                        std::to_string(options.runs));
  }
  if (options.examples < 0 || options.examples == 1) {
    throw ArgumentError("examples must be >= 2 (or 0: chosen from the images), not " +
                        std::to_string(options.examples));
  }
  if (!(options.alpha > 0 && options.alpha < 1)) {
    throw ArgumentError("alpha must be in (0, 1), not " + std::to_string(options.alpha));
  }
  if (!(options.regularisation > 0)) {
    throw ArgumentError("regularisation must be > 0, not " +
                        std::to_string(options.regularisation));
  }
  if (options.batch < 1)
    throw ArgumentError("batch must be >= 1, not " + std::to_string(options.batch));
  if (concepts.empty()) throw ArgumentError("TCAV needs at least one concept");
  for (const ConceptExamples& entry : concepts)
    check_images(entry.images, "concept '" + entry.name + "'");
  check_images(random, "the random images");
  check_images(images, "the class's images");
  if (images.size(0) < 1) throw InputError("TCAV needs at least one image of the class");

  // Examples per side: the concepts must keep one image out of each run, and the random pool
  // must give two disjoint draws.
  const int64_t pool = random.size(0);
  int64_t fewest = pool / 2;
  for (const ConceptExamples& entry : concepts) fewest = std::min(fewest, entry.images.size(0));
  const int64_t m = options.examples > 0 ? options.examples : std::max<int64_t>(2, fewest / 4);
  for (const ConceptExamples& entry : concepts) {
    if (entry.images.size(0) <= m) {
      throw ArgumentError("concept '" + entry.name + "' has " +
                          std::to_string(entry.images.size(0)) + " images: each run draws " +
                          std::to_string(m) + " and holds at least one out, so it needs " +
                          std::to_string(m + 1) + " or more");
    }
  }
  if (pool < 2 * m) {
    throw ArgumentError("the random images are " + std::to_string(pool) +
                        ": each run draws two disjoint sets of " + std::to_string(m) +
                        ", so they need to be " + std::to_string(2 * m) + " or more");
  }

  const Graph& graph = model.graph();
  const ValueId layer = graph.resolve(layer_name);
  int64_t total = pool + images.size(0);
  for (const ConceptExamples& entry : concepts) total += entry.images.size(0);
  plan_inputs(total);

  // Every example's activations in one table: the concepts' rows, then the random ones.
  std::vector<at::Tensor> tables;
  std::vector<int64_t> offsets;
  int64_t rows = 0;
  for (const ConceptExamples& entry : concepts) {
    tables.push_back(activations(model, layer, entry.images, options.batch));
    offsets.push_back(rows);
    rows += entry.images.size(0);
  }
  tables.push_back(activations(model, layer, random, options.batch));
  const int64_t random_offset = rows;
  const at::Tensor table = at::cat(tables);
  tables.clear();
  const auto [gradients, cls] = class_gradients(model, layer, images, target, options.batch);

  // A CAV's score and its classifier's margins need only products with the examples: the Gram
  // matrix of all examples, and the directional derivatives along each example.
  const at::Tensor gram = products(table, table);
  const at::Tensor along = products(gradients, table);  // [images, rows]
  const std::string& layer_value = graph.values[layer].name;
  if (!at::isfinite(gram).all().item<bool>() || !at::isfinite(along).all().item<bool>()) {
    throw NumericalError(
        "tcav", "", "the activations or gradients at layer " + layer_value + " are not finite");
  }

  TcavResult result;
  result.layer = layer_value;
  result.target = cls;
  result.images = images.size(0);
  result.examples = m;
  result.threshold =
      options.alpha / (options.bonferroni ? static_cast<double>(concepts.size()) : 1.0);
  result.concepts.resize(concepts.size());
  for (size_t c = 0; c < concepts.size(); ++c) result.concepts[c].name = concepts[c].name;

  // Fits on rows (positives first, then as many negatives) and returns the fit with the
  // fraction of the class's images whose logit rises along it.
  const auto fit_on = [&](const std::vector<int64_t>& positives,
                          const std::vector<int64_t>& negatives, const std::string& what) {
    std::vector<int64_t> chosen = positives;
    chosen.insert(chosen.end(), negatives.begin(), negatives.end());
    const at::Tensor picked = indices(chosen);
    at::Tensor y = at::ones({static_cast<int64_t>(chosen.size())}, gram.options());
    y.narrow(0, static_cast<int64_t>(positives.size()), static_cast<int64_t>(negatives.size()))
        .fill_(-1);
    const Fit fit = fit_logistic(gram.index_select(0, picked).index_select(1, picked), y,
                                 options.regularisation, what);
    const at::Tensor derivatives = along.index_select(1, picked).mv(fit.coefficients);
    const double score = (derivatives > 0).to(at::kDouble).mean().item<double>();
    return std::make_tuple(fit, picked, score);
  };

  Draws draws(options.seed);
  for (int64_t run = 0; run < options.runs; ++run) {
    if (interrupt_requested()) throw Interrupted("interrupted");
    const std::vector<int64_t> order = draws.first(pool, 2 * m);
    const std::vector<int64_t> negatives = shifted(order.begin(), order.begin() + m, random_offset);
    const std::vector<int64_t> others =
        shifted(order.begin() + m, order.begin() + 2 * m, random_offset);
    const std::vector<int64_t> unused = shifted(order.begin() + m, order.end(), random_offset);
    result.random_scores.push_back(
        std::get<2>(fit_on(others, negatives, "the CAV of random images against random images")));
    for (size_t c = 0; c < concepts.size(); ++c) {
      const std::vector<int64_t> drawn_order = draws.first(concepts[c].images.size(0), m);
      const std::vector<int64_t> drawn =
          shifted(drawn_order.begin(), drawn_order.begin() + m, offsets[c]);
      const std::vector<int64_t> held =
          shifted(drawn_order.begin() + m, drawn_order.end(), offsets[c]);
      const auto [fit, picked, score] =
          fit_on(drawn, negatives, "the CAV of concept '" + concepts[c].name + "'");
      // Balanced accuracy on the images the run did not draw.
      const auto margins = [&](const std::vector<int64_t>& rows) {
        return gram.index_select(0, indices(rows)).index_select(1, picked).mv(fit.coefficients) +
               fit.offset;
      };
      const double hits = (margins(held) > 0).to(at::kDouble).mean().item<double>();
      const double rejections = (margins(unused) < 0).to(at::kDouble).mean().item<double>();
      result.concepts[c].scores.push_back(score);
      result.concepts[c].cav_accuracies.push_back((hits + rejections) / 2);
    }
  }

  result.random_mean = mean_of(result.random_scores);
  result.random_std = std::sqrt(variance_of(result.random_scores));
  for (TcavConcept& entry : result.concepts) {
    entry.mean = mean_of(entry.scores);
    entry.std = std::sqrt(variance_of(entry.scores));
    entry.cav_accuracy = mean_of(entry.cav_accuracies);
    const TTest test = t_test(entry.scores, result.random_scores);
    entry.t = test.t;
    entry.p_value = test.p_value;
    entry.significant = entry.p_value < result.threshold;
  }
  return result;
}

}  // namespace whitebox
