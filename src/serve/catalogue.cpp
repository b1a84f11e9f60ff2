#include "catalogue.hpp"

#include <algorithm>

#include "closest.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"

namespace whitebox::serve {

namespace fs = std::filesystem;

namespace {

// Whether `file`, links resolved, lies inside the folder `root` (canonical).
bool inside(const fs::path& root, const fs::path& file) {
  std::error_code ec;
  const fs::path real = fs::canonical(file, ec);
  if (ec) return false;
  const auto [end, rest] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  return end == root.end() && rest != real.end();
}

}  // namespace

Catalogue::Catalogue(const fs::path& source, const Model& model) {
  const fs::path where = source.empty() ? bundled("images") : source;
  std::error_code ec;
  if (fs::is_directory(where, ec)) {
    root_ = fs::canonical(where);
    for (auto& item : read_folder(where, "", "", "")) {
      if (inside(root_, item.file)) items_.push_back(std::move(item));
    }
    if (items_.empty()) {
      throw InputError("the folder " + where.string() + " holds no image inside it (links out of it are not followed)");
    }
  } else {
    items_ = read_list(where, model);
  }
  for (size_t i = 0; i < items_.size(); ++i) by_key_[items_[i].key] = i;
}

const DataItem& Catalogue::find(const std::string& key) const {
  const auto found = by_key_.find(key);
  if (found == by_key_.end()) throw LookupError("no image '" + key + "' in this viewer's images");
  return items_[found->second];
}

at::Tensor Catalogue::read(const DataItem& item) const {
  if (!root_.empty() && !inside(root_, item.file)) {
    throw FileError("the image '" + item.key + "' now lies outside the served folder");
  }
  return read_image(item.file);
}

std::vector<const DataItem*> Catalogue::search(
    const std::string& query, const std::map<std::string, std::string>& labels) const {
  const std::string wanted = lower(query);
  std::vector<const DataItem*> found;
  for (const auto& item : items_) {
    const auto label = labels.find(item.key);
    if (wanted.empty() || lower(item.key).find(wanted) != std::string::npos ||
        (label != labels.end() && lower(label->second).find(wanted) != std::string::npos)) {
      found.push_back(&item);
    }
  }
  return found;
}

}  // namespace whitebox::serve
