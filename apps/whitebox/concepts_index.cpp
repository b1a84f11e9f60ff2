// whitebox concepts-index: each channel's reference examples over a data set, the images that
// make it most relevant (relevance maximization) and that activate it most (activation
// maximization), each with the patch its conditional map points to. A resumable data-set run:
// every image leaves a small record (each channel's relevance and peak activation at each
// layer); rank 0 then merges the records one at a time, keeping only the top-n per channel, and
// the images chosen compute their conditional maps and patches, again dealt over the ranks.
#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cluster.hpp"
#include "commands.hpp"
#include "resumable.hpp"
#include "whitebox/concepts.hpp"
#include "whitebox/dataset.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/limits.hpp"
#include "whitebox/preprocess.hpp"

namespace whitebox::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct IndexOptions {
  std::string images, list;
  std::vector<std::string> layers;
  std::string method = "lrp";
  int64_t top_n = 8;
  double patch = 0.25;
  std::string target = "top1";
  std::vector<std::string> params;
  std::string out = "concept-index";
};

// One ranked example: its value and image (ties go to the smaller key).
struct Example {
  double value;
  size_t item;
};

std::string item_digest(const DataItem& item) {
  std::string digest = file_digest(item.file, "image file");
  if (item.target) digest += " target " + std::to_string(*item.target);
  return digest;
}

std::optional<json> read_record(const fs::path& file, const std::string& config,
                                const DataItem& item) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  try {
    json record = json::parse(read_file(file, "record"));
    if (record.at("config").get<std::string>() != config ||
        record.at("image_digest").get<std::string>() != item_digest(item)) {
      return std::nullopt;
    }
    return record;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::vector<double> doubles(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

void run_index(const Global& global, const IndexOptions& options) {
  if (options.images.empty() == options.list.empty()) {
    throw ArgumentError(
        "concepts-index needs a folder of images (--images DIR) or a list (--list FILE)");
  }
  if (options.layers.empty()) {
    throw ArgumentError("concepts-index needs a layer (--layer; `whitebox inspect` lists them)");
  }
  const Model model = load_model(global);
  const std::vector<DataItem> items = options.list.empty() ? read_folder(options.images, "", "", "")
                                                           : read_list(options.list, model);
  if (items.empty()) throw InputError("concepts-index: the data set has no images");
  const Target target = Target::parse(options.target);
  ConceptOptions ranking;
  ranking.method = options.method;
  ranking.params = parse_params(options.params);
  ranking.maps = false;
  std::vector<ValueId> layer_ids;
  std::vector<std::string> layer_names;
  for (const auto& layer : options.layers) {
    layer_ids.push_back(model.graph().resolve(layer));
    layer_names.push_back(model.graph().values.at(layer_ids.back()).name);
  }

  const std::string model_digest = file_digest(model.path(), "model file", limits().model_bytes);
  // What the records and the index both depend on.
  const json settings{{"model", model.path().string()},
                      {"model_digest", model_digest},
                      {"preprocessing", model.preprocessing.name},
                      {"method", options.method},
                      {"params", ranking.params.values()},
                      {"target", options.target}};
  json run = settings;
  run.update({{"layers", layer_names}, {"images", options.images}, {"list", options.list}});
  const std::string config = run.dump();
  const fs::path out = options.out, records = out / "records", patches = out / "patches";
  const auto record_file = [&](size_t i) { return records / (items[i].key + ".json"); };
  const auto patch_record = [&](size_t i) { return records / (items[i].key + ".patches.json"); };
  const auto input_of = [&](size_t i) {
    return preprocess(read_image(items[i].file), model.preprocessing);
  };
  const auto target_of = [&](size_t i) {
    return items[i].target ? Target::index(*items[i].target) : target;
  };

  // 1. Each image's record: every channel's relevance (in the seed's units) and peak activation.
  ResumableRun resumable(out, records, config);
  std::vector<std::vector<size_t>> units(items.size());
  for (size_t i = 0; i < items.size(); ++i) units[i] = {i};
  resumable.run(
      units, [&](size_t i) { return read_record(record_file(i), config, items[i]).has_value(); },
      [&](const std::vector<size_t>& unit, Progress& progress) {
        const size_t i = unit.front();
        progress.start(items[i].key);
        const Input input = input_of(i);
        json layers = json::array();
        int64_t cls = 0;
        for (size_t l = 0; l < layer_ids.size(); ++l) {
          const Concepts c =
              concepts(model, input.tensor, options.layers[l], target_of(i), ranking);
          cls = c.target;
          layers.push_back(
              {{"relevance", doubles(c.relevance * c.magnitude)},
               {"activation", doubles(channel_peaks(model, input.tensor, options.layers[l]))}});
        }
        write_file(record_file(i), json{{"image", items[i].file.string()},
                                        {"image_digest", item_digest(items[i])},
                                        {"config", config},
                                        {"class", cls},
                                        {"layers", layers}}
                                           .dump() +
                                       "\n");
      },
      "concepts-index", {options.method});

  // 2. The top-n per channel, merged one record at a time on rank 0: memory holds n per channel.
  Cluster& cluster = Cluster::get();
  const char* kinds[2] = {"relevance", "activation"};
  std::vector<std::vector<std::vector<Example>>> top[2];  // [kind][layer][channel]
  const auto better = [&](const Example& a, const Example& b) {
    return a.value != b.value ? a.value > b.value : items[a.item].key < items[b.item].key;
  };
  const size_t n = static_cast<size_t>(options.top_n);
  json selection = json::object();
  if (cluster.root()) {
    for (auto& t : top) t.resize(layer_ids.size());
    for (size_t i = 0; i < items.size(); ++i) {
      const auto record = read_record(record_file(i), config, items[i]);
      if (!record) {
        throw FileError("the record of " + items[i].origin + " is missing from " +
                        records.string());
      }
      for (size_t l = 0; l < layer_ids.size(); ++l) {
        for (int k = 0; k < 2; ++k) {
          const auto values = record->at("layers").at(l).at(kinds[k]).get<std::vector<double>>();
          auto& channels = top[k][l];
          channels.resize(values.size());
          for (size_t c = 0; c < values.size(); ++c) {
            auto& list = channels[c];
            const Example e{values[c], i};
            if (list.size() == n && !better(e, list.back())) continue;
            list.insert(std::upper_bound(list.begin(), list.end(), e, better), e);
            if (list.size() > n) list.pop_back();
          }
        }
      }
    }
    // Which channels each chosen image maps, by layer.
    std::map<size_t, std::vector<std::set<int64_t>>> chosen;
    for (int k = 0; k < 2; ++k) {
      for (size_t l = 0; l < layer_ids.size(); ++l) {
        for (size_t c = 0; c < top[k][l].size(); ++c) {
          for (const Example& e : top[k][l][c]) {
            auto& sets = chosen[e.item];
            sets.resize(layer_ids.size());
            sets[l].insert(static_cast<int64_t>(c));
          }
        }
      }
    }
    for (const auto& [i, sets] : chosen) {
      json per_layer = json::array();
      for (const auto& s : sets) per_layer.push_back(std::vector<int64_t>(s.begin(), s.end()));
      selection[std::to_string(i)] = per_layer;
    }
    write_file(out / "selection.json", selection.dump() + "\n");
  }

  // 3. The chosen images' conditional maps and patches, dealt over the ranks again.
  const std::string patch_config =
      config + " top_n " + std::to_string(options.top_n) + " patch " + json(options.patch).dump();
  const auto needed = [&](size_t i) -> json {
    if (selection.empty()) selection = json::parse(read_file(out / "selection.json", "selection"));
    const auto it = selection.find(std::to_string(i));
    return it == selection.end() ? json() : *it;
  };
  const auto patches_done = [&](size_t i) {
    const json want = needed(i);
    if (want.is_null()) return true;
    const auto record = read_record(patch_record(i), patch_config, items[i]);
    return record && record->at("channels") == want;
  };
  resumable.run(
      units, patches_done,
      [&](const std::vector<size_t>& unit, Progress& progress) {
        const size_t i = unit.front();
        const json want = needed(i);
        progress.start(items[i].key);
        const Input input = input_of(i);
        json boxes = json::array();
        for (size_t l = 0; l < layer_ids.size(); ++l) {
          json layer_boxes = json::object();
          ConceptOptions maps = ranking;
          maps.maps = true;
          maps.channels = want.at(l).get<std::vector<int64_t>>();
          if (!maps.channels.empty()) {
            const Concepts c = concepts(model, input.tensor, options.layers[l], target_of(i), maps);
            const int64_t h = input.image.size(0), w = input.image.size(1);
            for (size_t m = 0; m < c.channels.size(); ++m) {
              at::Tensor map = c.maps[m].to(at::kCPU, at::kDouble);
              if (map.size(0) != h || map.size(1) != w) {
                map = at::upsample_bilinear2d(map.reshape({1, 1, map.size(0), map.size(1)}), {h, w},
                                              false)
                          .reshape({h, w});
              }
              const auto box = patch_box(map, options.patch);
              const std::string name = "l" + std::to_string(l) + "/" + items[i].key + "_c" +
                                       std::to_string(c.channels[m]) + ".png";
              fs::create_directories((patches / name).parent_path());
              write_image(
                  patches / name,
                  input.image.slice(0, box[1], box[3]).slice(1, box[0], box[2]).contiguous());
              layer_boxes[std::to_string(c.channels[m])] = {{"file", "patches/" + name},
                                                            {"box", box}};
            }
          }
          boxes.push_back(layer_boxes);
        }
        write_file(patch_record(i), json{{"image_digest", item_digest(items[i])},
                                         {"config", patch_config},
                                         {"channels", want},
                                         {"patches", boxes}}
                                            .dump() +
                                        "\n");
      },
      "concepts-index", {options.method});
  if (!cluster.root()) return;

  // 4. The index: per layer, per channel, the top-n by relevance and by activation.
  std::map<size_t, json> patch_of;  // read once per chosen image
  json layers = json::array();
  for (size_t l = 0; l < layer_ids.size(); ++l) {
    json channels = json::array();
    for (size_t c = 0; c < top[0][l].size(); ++c) {
      json entry{{"channel", c}};
      for (int k = 0; k < 2; ++k) {
        json examples = json::array();
        for (const Example& e : top[k][l][c]) {
          if (!patch_of.count(e.item)) {
            const auto record = read_record(patch_record(e.item), patch_config, items[e.item]);
            if (!record) {
              throw FileError("the patches of " + items[e.item].origin + " are missing from " +
                              patches.string());
            }
            patch_of[e.item] = record->at("patches");
          }
          const json& p = patch_of[e.item].at(l).at(std::to_string(c));
          examples.push_back({{"image", items[e.item].file.string()},
                              {"key", items[e.item].key},
                              {"value", e.value},
                              {"patch", p.at("file")},
                              {"box", p.at("box")}});
        }
        entry[kinds[k]] = examples;
      }
      channels.push_back(entry);
    }
    layers.push_back(
        {{"layer", options.layers[l]}, {"value", layer_names[l]}, {"channels", channels}});
  }
  json index = settings;
  index.update({{"format", "whitebox concept index 1"},
                {"top_n", options.top_n},
                {"patch", options.patch},
                {"images", items.size()},
                {"layers", layers}});
  write_file(out / "index.json", index.dump(1) + "\n");
  resumable.progress().print("index of " + std::to_string(items.size()) +
                             " images: " + (out / "index.json").string());
}

}  // namespace

Command add_concepts_index(CLI::App& parent) {
  auto o = std::make_shared<IndexOptions>();
  CLI::App* app = parent.add_subcommand(
      "concepts-index",
      "reference examples of concepts over a data set: each channel's top images by relevance "
      "and by activation, with the patches their conditional maps point to");
  auto* images = app->add_option("--images,-i", o->images, "folder of images");
  auto* list =
      app->add_option("--list", o->list, "CSV list of images: image[,target] (docs/datasets.md)");
  images->excludes(list);
  app->add_option("--layer,-l", o->layers, "a layer whose channels are indexed (repeatable)")
      ->required()
      ->allow_extra_args(false);
  app->add_option("--method,-m", o->method, "a relevance method (`whitebox concepts --help`)")
      ->capture_default_str();
  app->add_option("--top-n,-n", o->top_n, "reference examples per channel and ranking")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16))
      ->capture_default_str();
  app->add_option("--patch", o->patch, "side of a reference patch, as a fraction of the image's")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  app->add_option("--target,-t", o->target, kTargetHelp)->capture_default_str();
  app->add_option("--param,-p", o->params, "method hyper-parameter key=value (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--out,-o", o->out, "index folder (the run is resumed from it)")
      ->capture_default_str();
  return {app, [o](const Global& global) { run_index(global, *o); }};
}

}  // namespace whitebox::cli
