#pragma once
// Reference examples of concepts over a data set (whitebox concepts-index) and their use by
// `whitebox concepts --index`: the index a run leaves in its folder, read back.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"

namespace whitebox::cli {

Command add_concepts_index(CLI::App& parent);

// The index.json of `folder`, checked against the model and the layer it is used with: throws
// ArgumentError (one line) for an index of another model or without the layer, FileError when
// the folder holds no index. Returns the layer's entry: {"layer", "value", "channels": [...]}.
nlohmann::json index_layer(const std::filesystem::path& folder, const Model& model,
                           const std::string& layer);

}  // namespace whitebox::cli
