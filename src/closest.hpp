#pragma once
// Names near a misspelt one, for the "did you mean" of every lookup that fails (methods, metrics,
// parameters, layers, classes).
#include <string>
#include <string_view>
#include <vector>

namespace whitebox {

// `text` in lower case (ASCII letters): names, labels and extensions compared without case.
std::string lower(std::string text);

// Edits that turn a into b (Levenshtein), letters compared without case.
size_t edit_distance(std::string_view a, std::string_view b);

// Up to `most` of `choices` within a few edits of `word` (at most max(2, |word| / 3)), nearest
// first; a choice that starts with `word` counts as near.
std::vector<std::string> closest(std::string_view word, const std::vector<std::string>& choices,
                                 size_t most = 3);

// " (did you mean 'a' or 'b'?)", or "" for no names.
std::string did_you_mean(const std::vector<std::string>& names);
// The same for the closest choices.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& choices);

}  // namespace whitebox
