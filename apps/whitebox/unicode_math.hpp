// The LaTeX of the methods' mathematics as Unicode text, for `whitebox methods NAME` in a terminal.
#pragma once

#include <string>
#include <string_view>

namespace whitebox::cli {

// Markdown with LaTeX mathematics ($...$ and ```math blocks) as plain Unicode text for a terminal.
std::string unicode_math(std::string_view markdown);

}  // namespace whitebox::cli
