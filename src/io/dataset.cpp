#include "whitebox/dataset.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/files.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"

namespace whitebox {
namespace {

namespace fs = std::filesystem;

// The files of `folder` accepted by `keep`, sorted by name.
std::vector<fs::path> files_in(const fs::path& folder, const std::string& what,
                               bool (*keep)(const fs::path&)) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw FileError(what + " folder " + folder.string() + " does not exist");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.is_regular_file() && keep(entry.path())) files.push_back(entry.path());
  }
  if (ec) throw FileError("cannot list " + folder.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

// The image a per-image annotation file belongs to: same file name, else same stem.
size_t owner_of(const fs::path& annotation, const std::vector<DataItem>& images,
                const std::string& kind) {
  std::vector<size_t> candidates;
  for (size_t i = 0; i < images.size(); ++i) {
    if (images[i].file.filename() == annotation.filename()) return i;
    if (images[i].file.stem() == annotation.stem()) candidates.push_back(i);
  }
  if (candidates.empty()) {
    throw InputError(kind + " " + annotation.string() + " belongs to no image of the folder");
  }
  if (candidates.size() > 1) {
    throw InputError(kind + " " + annotation.string() +
                     " matches several images: " + images[candidates[0]].file.filename().string() +
                     ", " + images[candidates[1]].file.filename().string());
  }
  return candidates.front();
}

void read_boxes(const fs::path& file, std::vector<DataItem>& images) {
  const std::string text = read_file(file, "boxes file");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError("boxes file " + file.string() + " is not valid JSON: " + e.what());
  }
  if (!json.is_object())
    throw InputError("boxes file " + file.string() +
                     " must hold an object {\"image\": [[x0, y0, x1, y1], ...]}");
  for (const auto& entry : json.items()) {
    const std::string& name = entry.key();
    const nlohmann::json& boxes = entry.value();
    const auto found = std::find_if(images.begin(), images.end(), [&](const DataItem& e) {
      return e.file.filename().string() == name;
    });
    if (found == images.end())
      throw InputError("boxes file " + file.string() + " names unknown image '" + name + "'");
    if (!boxes.is_array())
      throw InputError("boxes file " + file.string() + ": '" + name + "' needs a list of boxes");
    const at::Tensor picture = read_image(found->file);
    const double width = static_cast<double>(picture.size(1)),
                 height = static_cast<double>(picture.size(0));
    for (const auto& box : boxes) {
      if (!box.is_array() || box.size() != 4 ||
          !std::all_of(box.begin(), box.end(), [](const auto& v) { return v.is_number(); })) {
        throw InputError("boxes file " + file.string() + ": '" + name +
                         "' has a box that is not [x0, y0, x1, y1]: " + box.dump());
      }
      const metrics::Box b{box[0].get<double>(), box[1].get<double>(), box[2].get<double>(),
                           box[3].get<double>()};
      if (!(b.x0 < b.x1 && b.y0 < b.y1)) {
        throw InputError("boxes file " + file.string() + ": box " + box.dump() + " of '" + name +
                         "' is empty or reversed");
      }
      if (b.x0 < 0 || b.y0 < 0 || b.x1 > width || b.y1 > height) {
        throw InputError("boxes file " + file.string() + ": box " + box.dump() + " lies outside '" +
                         name + "' (" + std::to_string(picture.size(1)) + "x" +
                         std::to_string(picture.size(0)) + ")");
      }
      found->boxes.push_back(b);
    }
  }
}

bool is_plane_file(const fs::path& file) {
  return is_image_file(file) || file.extension() == ".npy";
}

void attach_planes(const fs::path& folder, const std::string& kind, std::vector<DataItem>& images,
                   fs::path DataItem::*slot) {
  for (const auto& file : files_in(folder, kind, is_plane_file)) {
    DataItem& owner = images[owner_of(file, images, kind)];
    if (!(owner.*slot).empty())
      throw InputError(kind + " " + file.string() + " duplicates " + (owner.*slot).string());
    const at::Tensor plane = read_plane(file);
    const at::Tensor picture = read_image(owner.file);
    if (plane.size(0) != picture.size(0) || plane.size(1) != picture.size(1)) {
      throw InputError(kind + " " + file.string() + " is " + std::to_string(plane.size(1)) + "x" +
                       std::to_string(plane.size(0)) + " but its image " +
                       owner.file.filename().string() + " is " + std::to_string(picture.size(1)) +
                       "x" + std::to_string(picture.size(0)));
    }
    owner.*slot = file;
  }
}

// ---- list files ------------------------------------------------------------------------------

// The fields of one CSV line: comma-separated, a field in double quotes may hold commas and
// doubled quotes. Throws with `where` on an unterminated quote.
std::vector<std::string> csv_fields(const std::string& line, const std::string& where) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted) throw InputError(where + ": a quoted field is not closed");
  for (auto& f : fields) {
    const size_t a = f.find_first_not_of(" \t");
    f = a == std::string::npos ? "" : f.substr(a, f.find_last_not_of(" \t") - a + 1);
  }
  return fields;
}

// "x0 y0 x1 y1", several separated by ';'.
std::vector<metrics::Box> parse_boxes(const std::string& text, const std::string& where) {
  std::vector<metrics::Box> boxes;
  std::stringstream all(text);
  for (std::string one; std::getline(all, one, ';');) {
    std::istringstream in(one);
    double v[4];
    std::string rest;
    if (!(in >> v[0] >> v[1] >> v[2] >> v[3]) || (in >> rest)) {
      throw InputError(where + ": box '" + one + "' is not four numbers x0 y0 x1 y1");
    }
    if (!(v[0] < v[2] && v[1] < v[3]) || v[0] < 0 || v[1] < 0) {
      throw InputError(where + ": box '" + one + "' is empty, reversed or negative");
    }
    boxes.push_back({v[0], v[1], v[2], v[3]});
  }
  return boxes;
}

// The result key of a path as the list writes it.
std::string key_of(const std::string& written) {
  std::string key;
  for (char c : fs::path(written).lexically_normal().generic_string()) {
    if (c == '/') {
      key += "__";
    } else {
      key += c;
    }
  }
  return key;
}

}  // namespace

// A mask or gaze map in original image pixels, [H, W] float64.
at::Tensor read_plane(const std::filesystem::path& file) {
  if (file.extension() == ".npy") {
    const at::Tensor plane = read_npy(file);
    if (plane.dim() != 2)
      throw InputError(file.string() + " must be a [H, W] array, not " + c10::str(plane.sizes()));
    if (!at::isfinite(plane).all().item<bool>()) {
      throw InputError(file.string() + " holds values that are not finite (NaN or infinite)");
    }
    return plane.to(at::kDouble);
  }
  return read_image(file).to(at::kDouble).mean(2) / 255.0;
}

DataItem data_item(const fs::path& file) {
  DataItem item;
  item.file = file;
  item.key = file.filename().string();
  item.origin = file.string();
  return item;
}

std::vector<DataItem> read_folder(const fs::path& folder, const std::string& boxes,
                                  const std::string& masks, const std::string& gaze) {
  std::vector<DataItem> items;
  for (const auto& file : image_files(folder)) items.push_back(data_item(file));
  if (!boxes.empty()) read_boxes(boxes, items);
  if (!masks.empty()) attach_planes(masks, "mask", items, &DataItem::mask);
  if (!gaze.empty()) attach_planes(gaze, "gaze map", items, &DataItem::gaze);
  return items;
}

std::vector<DataItem> read_list(const fs::path& list, const Model& model) {
  std::istringstream in(read_file(list, "list file"));
  const fs::path base = list.parent_path();
  const auto where = [&](size_t line) { return list.string() + " line " + std::to_string(line); };

  std::string text;
  size_t line = 0;
  std::vector<std::string> columns;
  while (columns.empty() && std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") != std::string::npos && text[0] != '#') {
      columns = csv_fields(text, where(line));
    }
  }
  const std::vector<std::string> known = {"image", "target", "box", "mask", "gaze"};
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (std::find(known.begin(), known.end(), columns[i]) == known.end()) {
      throw InputError(where(line) + ": unknown column '" + columns[i] +
                       "' (the header names columns among image, target, box, mask, gaze)");
    }
    if (!column.emplace(columns[i], i).second) {
      throw InputError(where(line) + ": column '" + columns[i] + "' appears twice");
    }
  }
  if (!column.count("image")) {
    throw InputError(list.string() +
                     " needs a header line naming an 'image' column, e.g. image,target");
  }

  std::vector<DataItem> items;
  std::map<std::string, size_t> lines_of_keys;
  const at::Tensor no_logits = at::zeros({1, model.num_classes()});
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos || text[0] == '#') continue;
    const std::vector<std::string> fields = csv_fields(text, where(line));
    if (fields.size() != columns.size()) {
      throw InputError(where(line) + ": " + std::to_string(fields.size()) +
                       " fields, the header has " + std::to_string(columns.size()));
    }
    const auto field = [&](const std::string& name) {
      const auto it = column.find(name);
      return it == column.end() ? std::string() : fields[it->second];
    };
    const auto file_of = [&](const std::string& written) {
      const fs::path p(written);
      const fs::path file = p.is_absolute() ? p : base / p;
      std::error_code ec;
      if (!fs::is_regular_file(file, ec)) {
        throw InputError(where(line) + ": no file " + file.string());
      }
      return file;
    };
    DataItem item;
    item.origin = where(line);
    const std::string image = field("image");
    if (image.empty()) throw InputError(where(line) + ": no image");
    item.file = file_of(image);
    if (!is_image_file(item.file))
      throw InputError(where(line) + ": " + image + " is not an image file");
    item.key = key_of(image);
    if (const auto [it, fresh] = lines_of_keys.emplace(item.key, line); !fresh) {
      throw InputError(where(line) + ": image " + image + " is listed already on line " +
                       std::to_string(it->second));
    }
    if (const std::string t = field("target"); !t.empty()) {
      try {
        const Target target = Target::parse(t);
        if (target.kind == Target::Kind::TopK) throw ArgumentError("a rank is not a class");
        item.target = target.resolve(model, no_logits).front();
      } catch (const Error& e) {
        throw InputError(where(line) + ": target '" + t + "': " + e.what());
      }
    }
    if (const std::string b = field("box"); !b.empty()) item.boxes = parse_boxes(b, where(line));
    if (const std::string m = field("mask"); !m.empty()) item.mask = file_of(m);
    if (const std::string g = field("gaze"); !g.empty()) item.gaze = file_of(g);
    items.push_back(std::move(item));
  }
  if (items.empty()) throw InputError(list.string() + " lists no images");
  return items;
}

Annotations annotations(const DataItem& item, const at::Tensor& picture,
                        const Preprocessing& preprocessing) {
  Annotations result;
  const int64_t height = picture.size(0), width = picture.size(1);
  if (!item.boxes.empty()) {
    std::vector<metrics::Box> boxes;
    for (const auto& b : item.boxes) {
      if (b.x1 > static_cast<double>(width) || b.y1 > static_cast<double>(height)) {
        throw InputError(item.origin + ": a box lies outside " + item.file.filename().string() +
                         " (" + std::to_string(width) + "x" + std::to_string(height) + ")");
      }
      boxes.push_back(metrics::box_to_input(b, height, width, preprocessing));
    }
    result.mask = metrics::box_mask(boxes, preprocessing.height, preprocessing.width);
  } else if (!item.mask.empty()) {
    result.mask = metrics::plane_to_input(read_plane(item.mask), preprocessing) >= 0.5;
  }
  if (!item.gaze.empty())
    result.reference = metrics::plane_to_input(read_plane(item.gaze), preprocessing);
  return result;
}

}  // namespace whitebox
