#pragma once
// The images of a data set with their annotations: a folder (with a boxes file, a masks folder,
// a gaze folder) or a list file, a CSV described in docs/datasets.md. The command line's data-set
// runs and the Python package's evaluate() read them alike.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "whitebox/metrics.hpp"
#include "whitebox/model.hpp"

namespace whitebox {

struct DataItem {
  std::filesystem::path file;
  // Names the image's results in the output folder: its file name for a folder, its path as the
  // list writes it (separators as "__") for a list. Unique within a run.
  std::string key;
  std::optional<int64_t> target;     // the list's class for the image, else the run's --target
  std::vector<metrics::Box> boxes;   // original pixel coordinates
  std::filesystem::path mask, gaze;  // files, empty when none
  std::string origin;                // "data.csv line 4", or the image file: for errors
};

// An image file named by itself: keyed by its file name, no annotations.
DataItem data_item(const std::filesystem::path& file);

// The images of `folder` with the annotations of the given files and folders (each may be
// empty), all checked against the images. Throws FileError / InputError.
std::vector<DataItem> read_folder(const std::filesystem::path& folder, const std::string& boxes,
                                  const std::string& masks, const std::string& gaze);

// The images of a list file; targets are resolved against the model's classes and labels.
// Every error names the file and line. Boxes are checked against their image when it is read.
std::vector<DataItem> read_list(const std::filesystem::path& list, const Model& model);

// A mask or gaze map in original image pixels, [H, W] float64.
at::Tensor read_plane(const std::filesystem::path& file);

// An item's annotations on the model input (through the preprocessing's crop and resize): the
// object mask [H, W] bool from its boxes or mask file, and the human attention map [H, W] from
// its gaze file, each undefined when the item has none. `picture` is the item's image as read
// ([H, W, 3]). Throws InputError for a box outside the picture.
struct Annotations {
  at::Tensor mask, reference;
};
Annotations annotations(const DataItem& item, const at::Tensor& picture,
                        const Preprocessing& preprocessing);

}  // namespace whitebox
