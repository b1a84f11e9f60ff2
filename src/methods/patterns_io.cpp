// Patterns on disk (a folder beside the model: patterns.json and one .npy per layer) and the
// fingerprint that ties them to the model they were fitted for.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "methods/patterns_layers.hpp"
#include "whitebox/error.hpp"
#include "whitebox/files.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/patterns.hpp"

namespace whitebox {
namespace {

namespace fs = std::filesystem;
constexpr const char* kManifest = "patterns.json";
constexpr const char* kFormat = "whitebox-patterns";
constexpr int kVersion = 1;

std::string fit_hint() { return "fit them with `whitebox patterns fit MODEL IMAGES_DIR`"; }

// Equal up to the roundoff of folding the weights in float32 or float64.
bool close(double a, double b, double scale) { return std::abs(a - b) <= 1e-4 * scale + 1e-30; }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

std::vector<LayerFingerprint> fingerprint(const Model& model) {
  const Graph& graph = model.graph();
  std::vector<LayerFingerprint> layers;
  for (const auto& layer : explainers::patterns::pattern_layers(model)) {
    const Node& node = graph.nodes[layer.node];
    const at::Tensor& weight = graph.values[node.inputs[layer.weight]].constant;
    const at::Tensor w = weight.to(at::kDouble).flatten();
    // Position-dependent coefficients, so that permuted weights change the checksum.
    const at::Tensor c = at::remainder(at::arange(w.numel(), w.options()), 7.0) - 3.0;
    layers.push_back({node.name, node.op_type, weight.sizes().vec(), w.sum().item<double>(),
                      w.abs().sum().item<double>(), w.square().sum().item<double>(),
                      (w * c).sum().item<double>()});
  }
  return layers;
}

std::filesystem::path default_patterns_path(const Model& model) {
  if (model.path().empty()) {
    throw ArgumentError("the model has no file to find its patterns beside: pass patterns=FOLDER");
  }
  return fs::path(model.path().string() + ".patterns");
}

void Patterns::save(const fs::path& folder) const {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error || !fs::is_directory(folder)) {
    throw FileError("cannot create the patterns folder '" + folder.string() + "'");
  }
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < model.size(); ++i) {
    const LayerFingerprint& f = model[i];
    const auto found = by_node.find(f.node);
    if (found == by_node.end()) throw ArgumentError("no pattern for layer '" + f.node + "'");
    char name[48];  // room for any size_t index
    std::snprintf(name, sizeof name, "layer_%04zu.npy", i);
    write_npy(folder / name, found->second);
    nlohmann::json layer = {{"node", f.node},
                            {"op", f.op},
                            {"shape", f.shape},
                            {"sum", f.sum},
                            {"abs_sum", f.abs_sum},
                            {"sum_squares", f.sum_squares},
                            {"weighted_sum", f.weighted_sum},
                            {"file", name}};
    if (const auto neg = negative.find(f.node); neg != negative.end()) {
      std::snprintf(name, sizeof name, "layer_%04zu_neg.npy", i);
      write_npy(folder / name, neg->second);
      layer["negative_file"] = name;
    }
    layers.push_back(std::move(layer));
  }
  const nlohmann::json manifest = {{"format", kFormat},
                                   {"version", kVersion},
                                   {"estimator", to_string(estimator)},
                                   {"images", images},
                                   {"layers", layers}};
  write_file(folder / kManifest, manifest.dump(1) + "\n");
}

Patterns Patterns::load(const fs::path& folder) {
  const fs::path manifest_file = folder / kManifest;
  if (!fs::exists(manifest_file)) {
    throw FileError("no patterns at '" + folder.string() + "': " + fit_hint() +
                    " (or pass patterns=FOLDER)");
  }
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(manifest_file, "patterns manifest"));
  } catch (const nlohmann::json::exception& e) {
    throw FileError("'" + manifest_file.string() + "' is not a patterns manifest: " + e.what());
  }
  try {
    if (manifest.value("format", "") != kFormat || manifest.value("version", 0) != kVersion) {
      throw FileError("'" + manifest_file.string() + "' is not a version " +
                      std::to_string(kVersion) + " whitebox patterns manifest");
    }
    Patterns patterns;
    patterns.estimator = parse_estimator(manifest.at("estimator").get<std::string>());
    patterns.images = manifest.at("images").get<int64_t>();
    patterns.source = folder;
    for (const auto& layer : manifest.at("layers")) {
      LayerFingerprint f{layer.at("node").get<std::string>(),
                         layer.at("op").get<std::string>(),
                         layer.at("shape").get<std::vector<int64_t>>(),
                         layer.at("sum").get<double>(),
                         layer.at("abs_sum").get<double>(),
                         layer.at("sum_squares").get<double>(),
                         layer.at("weighted_sum").get<double>()};
      const auto read = [&](const std::string& file) {
        at::Tensor pattern = read_npy(folder / file).to(at::kDouble);
        if (pattern.sizes().vec() != f.shape) {
          throw FileError("pattern file '" + (folder / file).string() + "' has shape " +
                          shape_text(pattern.sizes().vec()) + ", its layer " + shape_text(f.shape));
        }
        return pattern;
      };
      patterns.by_node[f.node] = read(layer.at("file").get<std::string>());
      if (layer.contains("negative_file")) {
        patterns.negative[f.node] = read(layer.at("negative_file").get<std::string>());
      }
      patterns.model.push_back(std::move(f));
    }
    return patterns;
  } catch (const nlohmann::json::exception& e) {
    throw FileError("malformed patterns manifest '" + manifest_file.string() + "': " + e.what());
  }
}

void Patterns::check(const Model& model_to_explain) const {
  const std::vector<LayerFingerprint> actual = fingerprint(model_to_explain);
  const std::string where =
      source.empty() ? "the patterns" : "the patterns in '" + source.string() + "'";
  const auto mismatch = [&](const std::string& detail) {
    throw InputError(where + " were fitted for another model (" + detail + "); " + fit_hint());
  };
  for (size_t i = 0; i < std::max(actual.size(), model.size()); ++i) {
    if (i >= model.size()) mismatch("they have no pattern for layer '" + actual[i].node + "'");
    if (i >= actual.size()) mismatch("this model has no layer '" + model[i].node + "'");
    const LayerFingerprint &a = actual[i], &f = model[i];
    if (a.node != f.node || a.op != f.op) {
      mismatch("layer " + std::to_string(i + 1) + " is '" + a.node + "' (" + a.op + "), theirs '" +
               f.node + "' (" + f.op + ")");
    }
    if (a.shape != f.shape) {
      mismatch("layer '" + a.node + "' has weight shape " + shape_text(a.shape) + ", theirs " +
               shape_text(f.shape));
    }
    if (!close(a.sum, f.sum, f.abs_sum) || !close(a.abs_sum, f.abs_sum, f.abs_sum) ||
        !close(a.sum_squares, f.sum_squares, f.sum_squares) ||
        !close(a.weighted_sum, f.weighted_sum, 3 * f.abs_sum)) {
      mismatch("the weights of layer '" + a.node + "' differ");
    }
    if (by_node.find(a.node) == by_node.end()) mismatch("no pattern for layer '" + a.node + "'");
  }
}

}  // namespace whitebox
