// What the metrics' registry entries share: options read from Params, the parts of a Sample a
// metric reads, and the declarations of shared options.
#include "metrics/registration.hpp"

#include <cmath>
#include <sstream>

#include "metrics/common.hpp"

namespace whitebox::metrics::detail {

namespace {

// The names of Score, as params "score" gives them.
std::string score_name(Score score) { return score == Score::Logit ? "logit" : "probability"; }

}  // namespace

Score score_option(const Params& p, Score fallback) {
  const std::string name = p.text("score", score_name(fallback));
  if (name == "probability") return Score::Probability;
  if (name == "logit") return Score::Logit;
  throw LookupError("unknown score '" + name + "' (valid: probability, logit)");
}

int64_t positive(const Params& p, const std::string& name, int64_t fallback) {
  const int64_t value = p.integer(name, fallback);
  require_at_least(value, 1, name);
  return value;
}

uint64_t seed_option(const Params& p, uint64_t fallback) {
  const int64_t seed = p.integer("seed", static_cast<int64_t>(fallback));
  require_at_least(seed, 0, "seed");
  return static_cast<uint64_t>(seed);
}

std::vector<double> number_list(const std::string& text, const std::string& name) {
  std::vector<double> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      values.push_back(std::stod(item, &used));
      if (item.find_first_not_of(" \t", used) != std::string::npos)
        throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw ArgumentError(name + " takes comma-separated numbers, not '" + text + "'");
    }
  }
  if (values.empty()) throw ArgumentError(name + " needs at least one number");
  return values;
}

Declared operator+(Declared a, const Declared& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string number_list_text(std::span<const double> values) {
  const size_t n = values.size();
  bool even = n > 4;
  for (size_t i = 2; even && i < n; ++i)
    even = std::abs((values[i] - values[i - 1]) - (values[1] - values[0])) < 1e-9;
  const auto text_of = explainers::fallback_text;
  if (even) return text_of(values.front()) + ",...," + text_of(values.back());
  std::string text;
  for (double v : values) {
    if (!text.empty()) text += ',';
    text += text_of(v);
  }
  return text;
}

Declared score_parameter(Score fallback) {
  return {choice_parameter("score", score_name(fallback),
                           "what the curves follow: probability (softmax) or logit",
                           {"probability", "logit"})};
}

const Model& model_of(const Sample& s, const std::string& metric) {
  if (s.model == nullptr) throw ArgumentError(metric + " needs a model");
  return *s.model;
}

const std::string& method_of(const Sample& s, const std::string& metric) {
  if (s.method.empty()) throw ArgumentError(metric + " needs an explanation method it can re-run");
  return s.method;
}

const at::Tensor& mask_of(const Sample& s, const std::string& metric) {
  if (!s.mask.defined()) throw ArgumentError(metric + " needs an object mask (boxes or masks)");
  return s.mask;
}

const at::Tensor& reference_of(const Sample& s, const std::string& metric) {
  if (!s.reference.defined()) throw ArgumentError(metric + " needs a human attention map");
  return s.reference;
}

ClassExplainer explainer_on(const Model& model, const Sample& s, const std::string& metric) {
  return [&model, method = method_of(s, metric), params = s.method_params](const at::Tensor& inputs,
                                                                           int64_t cls) {
    const std::vector<int64_t> classes(inputs.size(0), cls);
    return explain(model, inputs, {method}, classes, params).begin()->second.map;
  };
}

ClassExplainer class_explainer_of(const Sample& s, const std::string& metric) {
  return explainer_on(model_of(s, metric), s, metric);
}

Explainer explainer_of(const Sample& s, const std::string& metric) {
  return [explainer = class_explainer_of(s, metric), cls = s.cls](const at::Tensor& inputs) {
    return explainer(inputs, cls);
  };
}

const Curve& keep_curve(const Sample& s, const std::string& name, const Curve& curve) {
  if (s.curves != nullptr) (*s.curves)[name] = curve;
  return curve;
}

}  // namespace whitebox::metrics::detail
