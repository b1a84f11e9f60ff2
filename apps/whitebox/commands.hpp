#pragma once
// Internal to the whitebox CLI: the options every command shares, the commands, and helpers.
#include <ATen/core/Tensor.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "progress.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/files.hpp"
#include "whitebox/model.hpp"

namespace whitebox::cli {

// Options given before the subcommand.
struct Global {
  int threads = 0;
  std::string model;       // empty: the bundled default model
  std::string preprocess;  // empty: the model's own preset
  bool quiet = false;      // no progress on stderr
};

// A subcommand: registered with CLI11, run after parsing if it was chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<void(const Global&)> run;
};

Command add_predict(CLI::App& parent);
Command add_inspect(CLI::App& parent);
Command add_explain(CLI::App& parent);
Command add_methods(CLI::App& parent);
Command add_evaluate(CLI::App& parent);
Command add_patterns(CLI::App& parent);
Command add_sanity(CLI::App& parent);
Command add_compare(CLI::App& parent);
Command add_concepts(CLI::App& parent);
Command add_concepts_index(CLI::App& parent);
Command add_tcav(CLI::App& parent);
Command add_serve(CLI::App& parent);

// The help of every --target option.
inline constexpr const char* kTargetHelp =
    "class to explain: top1 (the predicted class), topK or rank:K (the K-th most likely), a class "
    "index, or a label (or a part of only one)";

// Loads the model named by `file` (or --model, or the default) with --preprocess applied.
Model load_model(const Global& global, const std::string& file = "");
// The images named on the command line, or the bundled example photo.
std::vector<std::filesystem::path> images_or_default(const std::vector<std::string>& names);
// The class name of `index`, or "class N" when the model has no labels.
std::string label_of(const Model& model, int64_t index);
// "[1, 3, 224, 224]"; unknown dimensions print as "?".
std::string shape_text(const std::vector<int64_t>& shape);
// Comma-separated items, trimmed, without empty ones and repeats.
std::vector<std::string> split_list(const std::string& list);
// "saliency, gradcam" -> canonical registry names, in order, without repeats. Throws LookupError
// for an unknown name, ArgumentError for none.
std::vector<std::string> method_names(const std::string& list);
// The KEY=VALUE pairs of a repeatable option (`option` names it in errors); throws ArgumentError.
Params parse_params(const std::vector<std::string>& pairs, const std::string& option = "--param");
// `value` with `digits` decimals.
std::string fixed(double value, int digits);

// Throws InputError when a file name cannot be written into a JSON result (it is not UTF-8).
void check_utf8_name(const std::filesystem::path& file, const std::string& what);

}  // namespace whitebox::cli
