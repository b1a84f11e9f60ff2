// Targets (which class to explain) and hyper-parameter parsing.
#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>

#include "closest.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"

namespace whitebox {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "did you mean" among labels, each compared by its synonyms too ("tabby, tabby cat").
std::string near_labels(const std::string& label, const std::vector<std::string>& labels) {
  std::vector<std::string> synonyms, names;
  std::vector<size_t> owner;
  for (size_t i = 0; i < labels.size(); ++i) {
    for (size_t start = 0; start <= labels[i].size();) {
      const size_t end = std::min(labels[i].find(',', start), labels[i].size());
      std::string part = labels[i].substr(start, end - start);
      part.erase(0, part.find_first_not_of(' '));
      synonyms.push_back(part);
      owner.push_back(i);
      start = end + 1;
    }
  }
  for (const std::string& near : closest(label, synonyms, 6)) {
    const auto at = std::find(synonyms.begin(), synonyms.end(), near) - synonyms.begin();
    const std::string& name = labels[owner[at]];
    if (names.size() < 3 && std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  }
  return did_you_mean(names);
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
  // The k-th most likely class: "top3", or "rank:3", which no class label can be taken for.
  for (const std::string prefix : {"top", "rank:"}) {
    if (t.rfind(prefix, 0) == 0 && all_digits(t.substr(prefix.size()))) {
      const int64_t k = number(t.substr(prefix.size()));
      if (k < 1) throw ArgumentError("target '" + text + "': ranks start at 1");
      return top(k);
    }
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
      throw LookupError(
          "no class named '" + label + "'" +
          (matches.empty() ? near_labels(label, model.labels) : " (ambiguous: " + hint + ")"));
    }
  }
  return {};
}

}  // namespace whitebox
