// Reading a concept index back: the reference examples that `whitebox concepts-index` and
// Python's concept_index leave in index.json, for `whitebox concepts --index` and the report.
#include <nlohmann/json.hpp>

#include "whitebox/concepts.hpp"
#include "whitebox/error.hpp"
#include "whitebox/files.hpp"
#include "whitebox/limits.hpp"

namespace whitebox {

std::vector<std::vector<ConceptReference>> concept_references(const std::filesystem::path& folder,
                                                              const Model& model,
                                                              const std::string& layer,
                                                              const std::string& ranking) {
  if (ranking != "relevance" && ranking != "activation") {
    throw ArgumentError("a concept index ranks by relevance or activation, not " + ranking);
  }
  try {
    const nlohmann::json index =
        nlohmann::json::parse(read_file(folder / "index.json", "concept index"));
    const std::string digest = file_digest(model.path(), "model file", limits().model_bytes);
    if (index.at("model_digest").get<std::string>() != digest) {
      throw ArgumentError("the concept index " + folder.string() + " was made for the model " +
                          index.at("model").get<std::string>() + ", not " + model.path().string());
    }
    const std::string value = model.graph().values.at(model.graph().resolve(layer)).name;
    std::string has;
    for (const auto& entry : index.at("layers")) {
      if (entry.at("value").get<std::string>() != value) {
        has += (has.empty() ? "" : ", ") + entry.at("layer").get<std::string>();
        continue;
      }
      std::vector<std::vector<ConceptReference>> channels;
      for (const auto& channel : entry.at("channels")) {
        channels.emplace_back();
        for (const auto& example : channel.at(ranking)) {
          channels.back().push_back({example.at("image").get<std::string>(),
                                     example.at("value").get<double>(),
                                     folder / example.at("patch").get<std::string>()});
        }
      }
      return channels;
    }
    throw ArgumentError("the concept index " + folder.string() + " has no layer " + layer +
                        " (it has " + has + ")");
  } catch (const nlohmann::json::exception& e) {
    throw InputError("the concept index " + folder.string() + " is not valid: " + e.what());
  }
}

}  // namespace whitebox
