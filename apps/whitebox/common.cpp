// What the commands share besides the model: parsing lists of names and KEY=VALUE pairs,
// numbers for display, and writing result files.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
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

void write_atomically(const std::filesystem::path& file, const std::string& text) {
  // The process's own temporary, "<file>.<pid>.tmp": two runs writing one folder never share one.
  std::filesystem::path temporary = file;
  temporary += "." + std::to_string(::getpid()) + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw FileError("cannot write " + file.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    throw FileError("cannot write " + file.string());
  }
}

void remove_abandoned_temporaries(const std::filesystem::path& folder) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::filesystem::path& path = entry.path();
    if (path.extension() != ".tmp") continue;
    // "<file>.<pid>.tmp": kept while process pid runs (another run writing the same folder).
    const std::string pid = path.stem().extension().string();
    const bool digits =
        pid.size() > 1 && pid.find_first_not_of("0123456789", 1) == std::string::npos;
    if (digits && ::kill(static_cast<pid_t>(std::stol(pid.substr(1))), 0) == 0) continue;
    std::filesystem::remove(path, ec);
  }
}

}  // namespace whitebox::cli
