#pragma once
// The images a viewer shows: a folder's, a list file's, or the bundled photos. A request names an
// image by its key and only a key of the catalogue is ever turned into a file: no path a request
// writes reaches the file system.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "whitebox/dataset.hpp"
#include "whitebox/model.hpp"

namespace whitebox::serve {

class Catalogue {
 public:
  // `source`: a folder (its image files; links that lead out of it are left out), a list file,
  // or empty for the bundled photos. Throws FileError / InputError, and InputError when no image
  // is left.
  Catalogue(const std::filesystem::path& source, const Model& model);

  const std::vector<DataItem>& items() const { return items_; }
  // The item of `key`; throws LookupError.
  const DataItem& find(const std::string& key) const;
  // The item's picture as read ([H, W, 3] uint8); throws FileError when a folder's file has
  // since become a link out of it.
  at::Tensor read(const DataItem& item) const;
  // The items whose key or label (`labels`, by key) contains `query`, ignoring case.
  std::vector<const DataItem*> search(const std::string& query,
                                      const std::map<std::string, std::string>& labels) const;

 private:
  std::filesystem::path root_;  // a folder's canonical path; empty for a list
  std::vector<DataItem> items_;
  std::map<std::string, size_t> by_key_;
};

}  // namespace whitebox::serve
