#pragma once
// Declared hyper-parameters: the typed declarations of the registries, and the one check of the
// keys and values a caller gives against them, shared by methods and metrics.
#include <string>
#include <vector>

#include "whitebox/explain.hpp"
#include "whitebox/limits.hpp"

namespace whitebox::explainers {

inline Hyperparameter integer_parameter(std::string name, std::string fallback, std::string meaning,
                                        double lowest, double highest = kMostCount) {
  return {std::move(name), std::move(fallback), std::move(meaning),
          Hyperparameter::Type::Integer, lowest, highest};
}
inline Hyperparameter number_parameter(std::string name, std::string fallback, std::string meaning,
                                       double lowest, double highest = HUGE_VAL) {
  Hyperparameter h = integer_parameter(std::move(name), std::move(fallback), std::move(meaning),
                                       lowest, highest);
  h.type = Hyperparameter::Type::Number;
  return h;
}
// The same with the default given as a number: an option struct's field is its only source.
inline Hyperparameter integer_parameter(std::string name, int64_t fallback, std::string meaning,
                                        double lowest, double highest = kMostCount) {
  return integer_parameter(std::move(name), std::to_string(fallback), std::move(meaning), lowest,
                           highest);
}
// A number as a declared default writes it: the shortest text that reads back as the same double,
// with the exponent's leading zeros dropped ("224", "0.02", "1e-5").
std::string fallback_text(double value);
inline Hyperparameter number_parameter(std::string name, double fallback, std::string meaning,
                                       double lowest, double highest = HUGE_VAL) {
  return number_parameter(std::move(name), fallback_text(fallback), std::move(meaning), lowest,
                          highest);
}
inline Hyperparameter choice_parameter(std::string name, std::string fallback, std::string meaning,
                                       std::vector<std::string> choices) {
  return {std::move(name), std::move(fallback), std::move(meaning), Hyperparameter::Type::Choice,
          -HUGE_VAL, HUGE_VAL, std::move(choices)};
}

// `params` over `method`'s declared defaults (but the computed ones), in place of any others: what
// the method reads, so that its code never writes a default a second time.
Params with_declared_defaults(const MethodInfo& method, const Params& params);

// A declaration whose fallback describes what the method computes when the key is not given.
inline Hyperparameter computed(Hyperparameter h) {
  h.computed = true;
  return h;
}

// What one method or metric declares.
struct Declared {
  std::string owner;
  std::vector<Hyperparameter> parameters;
};

// Throws ArgumentError for a key of `params` that no `chosen` owner declares (listing the valid
// keys, with the closest name among `everyone`'s and who takes it), or for a value outside the
// type and range of a chosen owner's declaration of its key.
void check_declared(const std::vector<Declared>& chosen, const std::vector<Declared>& everyone,
                    const Params& params);

}  // namespace whitebox::explainers
