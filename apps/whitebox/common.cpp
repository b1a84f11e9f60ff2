// What the commands share besides the model: parsing lists of names and KEY=VALUE pairs, and
// numbers for display.
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "commands.hpp"
#include "whitebox/error.hpp"

namespace whitebox::cli {
namespace {

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

}  // namespace

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    item = trim(item);
    if (!item.empty() && std::find(items.begin(), items.end(), item) == items.end()) {
      items.push_back(item);
    }
  }
  return items;
}

std::vector<std::string> method_names(const std::string& list) {
  std::vector<std::string> names;
  for (const auto& item : split_list(list)) {
    const std::string& name = find_method(item).name;  // throws LookupError listing valid names
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  if (names.empty()) throw ArgumentError("--method needs at least one method name");
  return names;
}

Params parse_params(const std::vector<std::string>& pairs, const std::string& option) {
  Params params;
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ArgumentError(option + " takes key=value, not '" + pair + "'");
    }
    params.set(trim(pair.substr(0, eq)), trim(pair.substr(eq + 1)));
  }
  return params;
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

void check_utf8_name(const std::filesystem::path& file, const std::string& what) {
  if (!is_utf8(file.string())) {
    throw InputError(what + " name is not UTF-8, which a JSON result cannot hold: " +
                     printable(file.string()) + " (rename it)");
  }
}

}  // namespace whitebox::cli
