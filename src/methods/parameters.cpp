// Params, the typed declarations of hyper-parameters, and the check of what a caller gives.
#include "methods/parameters.hpp"

#include <c10/util/StringUtil.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "closest.hpp"
#include "whitebox/error.hpp"

namespace whitebox {

Params& Params::set(const std::string& name, const std::string& value) {
  values_[name] = value;
  return *this;
}

Params& Params::set_default(const std::string& name, const std::string& value) {
  defaults_[name] = value;
  return *this;
}

const std::string& Params::read(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (auto it = defaults_.find(name); it != defaults_.end()) return it->second;
  throw std::logic_error("parameter '" + name + "' is read but neither given nor declared");
}

namespace {

double parsed_number(const std::string& name, const std::string& text) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw ArgumentError("parameter " + name + "='" + text + "' is not a number");
}

int64_t parsed_integer(const std::string& name, const std::string& text) {
  const double v = parsed_number(name, text);
  // 2^63 is the first double past int64: the cast of a larger value is undefined.
  if (!(std::abs(v) < 9223372036854775808.0) || v != std::trunc(v)) {
    throw ArgumentError("parameter " + name + "='" + text +
                        "' must be an integer of at most 18 digits");
  }
  return static_cast<int64_t>(v);
}

}  // namespace

std::string Params::text(const std::string& name) const { return read(name); }

double Params::number(const std::string& name) const { return parsed_number(name, read(name)); }

int64_t Params::integer(const std::string& name) const { return parsed_integer(name, read(name)); }

std::string Params::text(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

double Params::number(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : parsed_number(name, it->second);
}

int64_t Params::integer(const std::string& name, int64_t fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : parsed_integer(name, it->second);
}

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

}  // namespace

std::string Hyperparameter::describe() const {
  const bool low = lowest > -HUGE_VAL, high = highest < HUGE_VAL;
  std::string range;
  if (low && high)
    range = " in [" + c10::str(lowest) + ", " + c10::str(highest) + "]";
  else if (low)
    range = " >= " + c10::str(lowest);
  else if (high)
    range = " <= " + c10::str(highest);
  switch (type) {
    case Type::Text: return "text";
    case Type::Integer: return "an integer" + range;
    case Type::Number: return "a number" + range;
    case Type::Choice: return "one of " + joined(choices);
  }
  return "?";
}

void Hyperparameter::check(const std::string& value) const {
  const auto fail = [&] {
    throw ArgumentError("parameter " + name + "='" + value + "': takes " + describe());
  };
  if (type == Type::Text) return;
  if (type == Type::Choice) {
    if (std::find(choices.begin(), choices.end(), value) == choices.end()) fail();
    return;
  }
  double v = 0;
  try {
    size_t used = 0;
    v = std::stod(value, &used);
    if (used != value.size()) fail();
  } catch (const std::logic_error&) {
    fail();
  }
  if (!std::isfinite(v) || v < lowest || v > highest) fail();
  if (type == Type::Integer && v != std::floor(v)) fail();
}

namespace explainers {

std::string fallback_text(double value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  std::string text(buffer, end);
  // to_chars writes at least two exponent digits, as printf does: 1e-05 reads 1e-5.
  if (const size_t e = text.find('e'); e != std::string::npos) {
    const size_t digits = text.find_first_not_of("+-", e + 1);
    while (digits + 1 < text.size() && text[digits] == '0') text.erase(digits, 1);
  }
  return text;
}

void check_declared(const std::vector<Declared>& chosen, const std::vector<Declared>& everyone,
                    const Params& params) {
  std::vector<std::string> valid, owners;
  for (const Declared& d : chosen) {
    owners.push_back(d.owner);
    for (const Hyperparameter& h : d.parameters) valid.push_back(h.name);
  }
  std::sort(valid.begin(), valid.end());
  valid.erase(std::unique(valid.begin(), valid.end()), valid.end());
  for (const auto& [key, value] : params.values()) {
    if (!std::binary_search(valid.begin(), valid.end(), key)) {
      // The closest name anyone takes, with who takes it.
      std::string closest;
      size_t best = std::max<size_t>(2, key.size() / 3) + 1;
      for (const auto* group : {&chosen, &everyone}) {
        for (const Declared& d : *group) {
          for (const Hyperparameter& h : d.parameters) {
            if (const size_t dist = edit_distance(key, h.name); dist < best)
              best = dist, closest = h.name;
          }
        }
      }
      std::string hint;
      if (!closest.empty()) {
        std::vector<std::string> takers;
        for (const Declared& d : everyone) {
          for (const Hyperparameter& h : d.parameters) {
            if (h.name == closest) takers.push_back(d.owner);
          }
        }
        const bool ours = std::binary_search(valid.begin(), valid.end(), closest);
        hint = "; did you mean '" + closest + "'" +
               (ours ? "" : " (a parameter of " + joined(takers) + ")") + "?";
      }
      throw ArgumentError("unknown parameter '" + key + "' for " + joined(owners) + " (valid: " +
                          (valid.empty() ? std::string("none") : joined(valid)) + ")" + hint);
    }
    for (const Declared& d : chosen) {
      for (const Hyperparameter& h : d.parameters) {
        if (h.name != key) continue;
        try {
          h.check(value);
        } catch (const ArgumentError& e) {
          throw ArgumentError(std::string(e.what()) + " (" + d.owner + ")");
        }
      }
    }
  }
}

}  // namespace explainers
}  // namespace whitebox
