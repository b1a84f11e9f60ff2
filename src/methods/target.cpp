// Targets (which class to explain) and hyper-parameter parsing.
#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>

#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"

namespace whitebox {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

Target Target::parse(const std::string& text) {
  const std::string t = lower(text);
  // A number of 18 digits or fewer fits int64; a longer one is no class or rank of any model.
  const auto number = [&](const std::string& digits) {
    if (digits.size() > 18) {
      throw ArgumentError("target '" + text + "' is past every class index and rank");
    }
    return std::stoll(digits);
  };
  if (t.rfind("top", 0) == 0 && all_digits(t.substr(3))) {
    const int64_t k = number(t.substr(3));
    if (k < 1) throw ArgumentError("target '" + text + "': ranks start at top1");
    return top(k);
  }
  if (all_digits(t)) return index(number(t));
  if (t.empty() || t[0] == '-') throw ArgumentError("target '" + text + "' is not a class");
  return named(text);
}

std::vector<int64_t> Target::resolve(const Model& model, const at::Tensor& logits) const {
  const int64_t batch = logits.size(0), classes = logits.size(1);
  switch (kind) {
    case Kind::TopK: {
      if (value < 1 || value > classes) {
        throw ArgumentError("target top" + std::to_string(value) + " is out of range: the model has " +
                            std::to_string(classes) + " classes");
      }
      const at::Tensor ranked = std::get<1>(logits.topk(value, 1)).select(1, value - 1).to(at::kCPU);
      return {ranked.data_ptr<int64_t>(), ranked.data_ptr<int64_t>() + batch};
    }
    case Kind::Index:
      if (value < 0 || value >= classes) {
        throw ArgumentError("target class " + std::to_string(value) + " is out of range [0, " +
                            std::to_string(classes) + ")");
      }
      return std::vector<int64_t>(batch, value);
    case Kind::Label: {
      const std::string wanted = lower(label);
      std::vector<int64_t> matches;
      for (size_t i = 0; i < model.labels.size(); ++i) {
        const std::string l = lower(model.labels[i]);
        if (l == wanted) return std::vector<int64_t>(batch, static_cast<int64_t>(i));
        if (l.find(wanted) != std::string::npos) matches.push_back(static_cast<int64_t>(i));
      }
      if (matches.size() == 1) return std::vector<int64_t>(batch, matches[0]);
      if (model.labels.empty()) throw LookupError("the model has no labels: give the target as a class index");
      std::string hint;
      for (size_t i = 0; i < matches.size() && i < 5; ++i) hint += (i ? ", " : "") + model.labels[matches[i]];
      throw LookupError("no class named '" + label + "'" +
                        (matches.empty() ? "" : " (ambiguous: " + hint + ")"));
    }
  }
  return {};
}

}  // namespace whitebox
