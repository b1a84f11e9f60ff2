#include "closest.hpp"

#include <algorithm>
#include <cctype>

namespace whitebox {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  auto same = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  };
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> closest(std::string_view word, const std::vector<std::string>& choices,
                                 size_t most) {
  const size_t near = std::max<size_t>(2, word.size() / 3);
  std::vector<std::pair<size_t, std::string>> ranked;
  for (const std::string& choice : choices) {
    const bool prefix = word.size() >= 3 && choice.size() > word.size() &&
                        edit_distance(word, std::string_view(choice).substr(0, word.size())) == 0;
    const size_t d = prefix ? 1 : edit_distance(word, choice);
    if (d <= near && choice != word) ranked.emplace_back(d, choice);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (const auto& [d, name] : ranked) {
    if (names.size() == most) break;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& choices) {
  return did_you_mean(closest(word, choices));
}

std::string did_you_mean(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string text = " (did you mean ";
  for (size_t i = 0; i < names.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + ("'" + names[i] + "'");
  }
  return text + "?)";
}

}  // namespace whitebox
