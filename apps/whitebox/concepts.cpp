// whitebox concepts: what the model saw in an image, in terms of the channels of hidden layers
// (concept relevance propagation): each concept's share of the decision and its own map.
#include "whitebox/concepts.hpp"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/preprocess.hpp"
#include "whitebox/render.hpp"

namespace whitebox::cli {
namespace {

namespace fs = std::filesystem;

struct ConceptsOptions {
  std::vector<std::string> images;
  std::vector<std::string> layers;
  std::string method = "lrp";
  std::string channels;
  int64_t top = 8;
  int64_t subtop = 3;
  int64_t batch = 16;
  std::string target = "top1";
  std::vector<std::string> params;
  std::string out = "whitebox-out";
  std::string index;  // a concepts-index folder: reference examples of the first layer's concepts
};

std::vector<int64_t> channel_list(const std::string& text) {
  std::vector<int64_t> channels;
  for (const std::string& item : split_list(text)) {
    try {
      size_t used = 0;
      channels.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::logic_error&) {
      throw ArgumentError("--channels takes channel indices separated by commas, not '" + item + "'");
    }
  }
  return channels;
}

// "c12" for a concept of the first layer, "c12 > c3" under it.
std::string path_of(const std::vector<ConceptNode>& nodes, int index) {
  std::string path;
  for (int i = index; i >= 0; i = nodes[i].parent) {
    path = "c" + std::to_string(nodes[i].channel) + (path.empty() ? "" : " > " + path);
  }
  return path;
}

void run_concepts(const Global& global, const ConceptsOptions& options) {
  if (options.layers.empty()) {
    throw ArgumentError("concepts need a layer (--layer; `whitebox inspect` lists them)");
  }
  const Model model = load_model(global);
  ConceptOptions concept_options;
  concept_options.method = options.method;
  concept_options.params = parse_params(options.params);
  concept_options.channels = channel_list(options.channels);
  concept_options.top = options.top;
  concept_options.batch = options.batch;
  const Target target = Target::parse(options.target);
  const fs::path out_dir = options.out;
  // Checked before any image: an index of another model or without the layer is refused.
  const std::vector<std::vector<ConceptReference>> indexed =
      options.index.empty() ? std::vector<std::vector<ConceptReference>>()
                            : concept_references(options.index, model, options.layers[0]);

  const auto images = images_or_default(options.images);
  Progress progress(images.size(), "concepts");
  for (const fs::path& file : images) {
    progress.start(file.filename().string());
    const Input input = preprocess(read_image(file), model.preprocessing);
    // Every channel's share at the first layer, then the attribution graph with its maps.
    ConceptOptions ranking = concept_options;
    ranking.maps = false;
    const Concepts first = concepts(model, input.tensor, options.layers[0], target, ranking);
    const std::vector<ConceptNode> nodes =
        concept_graph(model, input.tensor, options.layers, target, concept_options, options.subtop);

    fs::create_directories(out_dir);
    const std::string stem = (out_dir / file.stem()).string() + "_concepts";
    const at::Tensor logits = model.logits(input.tensor)[0].to(at::kCPU, at::kDouble);
    const double probability = at::softmax(logits, 0)[first.target].item<double>();
    std::vector<at::Tensor> pictures{input.image};
    std::vector<std::string> titles{label_of(model, first.target) + " " + fixed(probability, 2)};
    nlohmann::json listed = nlohmann::json::array();
    for (size_t i = 0; i < nodes.size(); ++i) {
      const ConceptNode& node = nodes[i];
      const std::string name = stem + "_" + std::to_string(i);
      write_npy(name + ".npy", node.map.to(at::kCPU, at::kFloat).contiguous());
      const at::Tensor heat = colorize(normalize_map(node.map, Normalization::Signed, 99),
                                       Colormap::RedBlue);
      pictures.push_back(overlay(input.image, heat));
      titles.push_back(path_of(nodes, static_cast<int>(i)) + " " + fixed(100 * node.relevance, 1) + "%");
      listed.push_back({{"layer", node.layer},
                        {"channel", node.channel},
                        {"relevance", node.relevance},
                        {"parent", node.parent},
                        {"map", fs::path(name + ".npy").filename().string()}});
      if (options.index.empty() || node.parent >= 0) continue;
      // The concept's reference examples by relevance, their patches shown at the image's size.
      nlohmann::json references = nlohmann::json::array();
      if (node.channel < static_cast<int64_t>(indexed.size())) {
        int rank = 0;
        for (const ConceptReference& example : indexed[node.channel]) {
          references.push_back({{"image", example.image},
                                {"value", example.value},
                                {"patch", example.patch.string()}});
          const at::Tensor picture =
              read_image(example.patch).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);
          pictures.push_back(
              at::upsample_bilinear2d(picture, {input.image.size(0), input.image.size(1)}, false)[0]
                  .permute({1, 2, 0})
                  .round()
                  .clamp(0, 255)
                  .to(at::kByte)
                  .contiguous());
          titles.push_back("c" + std::to_string(node.channel) + " example " +
                           std::to_string(++rank));
        }
      }
      listed.back()["references"] = references;
    }
    write_image(stem + ".png", grid(pictures, titles, 4));
    const at::Tensor shares = first.relevance.contiguous();
    write_file(stem + ".json",
               nlohmann::json{{"image", file.string()},
                              {"model", model.path().string()},
                              {"method", first.method},
                              {"params", concept_options.params.values()},
                              {"class", first.target},
                              {"label", label_of(model, first.target)},
                              {"probability", probability},
                              {"relevance_in", first.seed},
                              {"relevance_at_layer", first.magnitude},
                              {"layers", options.layers},
                              {"relevance",
                               std::vector<double>(shares.data_ptr<double>(),
                                                   shares.data_ptr<double>() + shares.numel())},
                              {"concepts", listed}}
                       .dump(2) +
                   "\n");
    std::string line = stem + "{.json,.png}  " + label_of(model, first.target) + " (" +
                       std::to_string(first.target) + ")  top concepts at " + first.layer + ":";
    for (const ConceptNode& node : nodes) {
      if (node.parent < 0) line += " c" + std::to_string(node.channel) + " " + fixed(100 * node.relevance, 1) + "%";
    }
    progress.print(line);
  }
}

}  // namespace

Command add_concepts(CLI::App& parent) {
  auto o = std::make_shared<ConceptsOptions>();
  CLI::App* app = parent.add_subcommand(
      "concepts",
      "concept relevance: each channel's share of the decision at a layer and its own map");
  app->add_option("images", o->images, "image files (default: the bundled chelsea.png)");
  app->add_option("--layer,-l", o->layers,
                  "the layer whose channels are the concepts (`whitebox inspect` lists them); "
                  "repeat it for the concepts under each concept, from the output down")
      ->required()
      ->allow_extra_args(false);
  app->add_option("--method,-m", o->method,
                  "a relevance method: " + [] {
                    std::string names;
                    for (const auto& n : concept_methods()) names += (names.empty() ? "" : ", ") + n;
                    return names;
                  }())
      ->capture_default_str();
  app->add_option("--top,-k", o->top, "concepts at the first layer (0: every channel)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  app->add_option("--channels", o->channels, "these channels of the first layer instead, e.g. 3,17");
  app->add_option("--subtop", o->subtop, "concepts under each concept at the next --layer")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  app->add_option("--batch", o->batch, "conditional maps per sweep")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  app->add_option("--target,-t", o->target, kTargetHelp)->capture_default_str();
  app->add_option("--param,-p", o->params, "method hyper-parameter key=value (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--out,-o", o->out, "output folder")->capture_default_str();
  app->add_option("--index", o->index,
                  "a `whitebox concepts-index` folder of this model and the first --layer: each "
                  "top concept's reference examples with their patches");
  return {app, [o](const Global& global) { run_concepts(global, *o); }};
}

}  // namespace whitebox::cli
