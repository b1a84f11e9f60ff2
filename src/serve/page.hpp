#pragma once
// The viewer's page (src/serve/page), compiled into the library by cmake/embed.cmake.
#include <string_view>
#include <utility>
#include <vector>

namespace whitebox::serve {

// Each file's URL path ("/index.html") and content.
const std::vector<std::pair<std::string_view, std::string_view>>& page_files();

}  // namespace whitebox::serve
