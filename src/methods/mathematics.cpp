// The mathematics of the registered methods, kept with the library so that every front end (the
// CLI's `methods` command, docs/methods.md, the Python package) shows the same text.
#include <string_view>
#include <utility>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox {

std::string_view mathematics(std::string_view key) {
  static const std::vector<std::pair<std::string_view, std::string_view>> texts = {
#include "methods/mathematics.inc"
  };
  for (const auto& [name, text] : texts) {
    if (name == key) return text;
  }
  return {};
}

}  // namespace whitebox
