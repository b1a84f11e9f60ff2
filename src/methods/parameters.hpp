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
inline Hyperparameter choice_parameter(std::string name, std::string fallback, std::string meaning,
                                       std::vector<std::string> choices) {
  return {std::move(name), std::move(fallback), std::move(meaning), Hyperparameter::Type::Choice,
          -HUGE_VAL, HUGE_VAL, std::move(choices)};
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
