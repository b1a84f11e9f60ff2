// whitebox explain: attribution maps for images, a folder or a list file, written as pictures,
// .npy arrays and JSON; resumable, and shared out over MPI ranks like evaluate.
#include "whitebox/explain.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "cluster.hpp"
#include "commands.hpp"
#include "resumable.hpp"
#include "whitebox/dataset.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/limits.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/render.hpp"

namespace whitebox::cli {
namespace {

struct ExplainOptions {
  std::vector<std::string> images;
  std::string list;
  std::string formats = "png,heatmap,npy,json,grid";
  std::string methods = "saliency,gradcam";
  std::string target = "top1";
  std::string out = "whitebox-out";
  std::string colormap, normalize;  // empty: chosen by whether the method's map is signed
  double alpha = 0.5;
  double percentile = 99.0;
  std::string layer;
  std::vector<std::string> params;
  int batch = 1;
};

namespace fs = std::filesystem;

// Which files are written per image and method (png: the overlay, heatmap, npy, json) and per
// image (grid).
struct Formats {
  bool png = false, heatmap = false, npy = false, json = false, grid = false;
};

Formats parse_formats(const std::string& list) {
  Formats f;
  const std::vector<std::pair<std::string, bool Formats::*>> known = {
      {"png", &Formats::png},
      {"heatmap", &Formats::heatmap},
      {"npy", &Formats::npy},
      {"json", &Formats::json},
      {"grid", &Formats::grid}};
  for (const auto& name : split_list(list)) {
    const auto it =
        std::find_if(known.begin(), known.end(), [&](const auto& k) { return k.first == name; });
    if (it == known.end()) {
      throw ArgumentError("unknown format '" + name +
                          "' for --formats (valid: png, heatmap, npy, json, grid)");
    }
    f.*(it->second) = true;
  }
  if (!(f.png || f.heatmap || f.npy || f.json || f.grid))
    throw ArgumentError("--formats names no format");
  return f;
}

// The images: a list file, else the files and folders named, else the bundled photo.
std::vector<DataItem> items_of(const ExplainOptions& options, const Model& model) {
  if (!options.list.empty()) {
    if (!options.images.empty()) throw ArgumentError("give images or --list, not both");
    return read_list(options.list, model);
  }
  std::vector<DataItem> items;
  for (const auto& file : images_or_default(options.images)) {
    std::error_code ec;
    if (!fs::is_directory(file, ec)) {
      items.push_back(data_item(file));
      continue;
    }
    for (DataItem& item : read_folder(file, "", "", "")) items.push_back(std::move(item));
  }
  return items;
}

// A file stem per image, made unique so that a.png and a.jpg don't overwrite each other.
std::vector<std::string> unique_stems(const std::vector<DataItem>& items) {
  std::set<std::string> used;
  std::vector<std::string> stems;
  for (const auto& item : items) {
    std::string stem = fs::path(item.key).stem().string(), candidate = stem;
    for (int n = 2; !used.insert(candidate).second; ++n) candidate = stem + "_" + std::to_string(n);
    stems.push_back(candidate);
  }
  return stems;
}

// How maps are drawn: colormap and normalisation for signed and for unsigned maps (an explicit
// choice applies to both), and the percentile that maps to the colormap's end.
struct Style {
  std::pair<Colormap, Colormap> colormaps{Colormap::RedBlue, Colormap::Jet};
  std::pair<Normalization, Normalization> normalizations{Normalization::Signed,
                                                         Normalization::Positive};
  double percentile = 99;

  // The heat map of image i of the explanation.
  at::Tensor heat(const Explanation& e, int64_t i) const {
    const Colormap cmap = e.is_signed ? colormaps.first : colormaps.second;
    const Normalization how = e.is_signed ? normalizations.first : normalizations.second;
    at::Tensor normalized = normalize_map(e.map[i], how, percentile);
    // A signed map drawn with a sequential colormap: -1..1 spans the whole colormap.
    if (how == Normalization::Signed && cmap != Colormap::RedBlue) normalized = (normalized + 1) / 2;
    return colorize(normalized, cmap);
  }
};

Style style_of(const ExplainOptions& options) {
  Style style;
  if (!options.colormap.empty()) {
    style.colormaps.first = style.colormaps.second = parse_colormap(options.colormap);
  }
  if (!options.normalize.empty()) {
    style.normalizations.first = style.normalizations.second = parse_normalization(options.normalize);
  }
  if (!(options.percentile > 0 && options.percentile <= 100)) {
    throw ArgumentError("--percentile must be in (0, 100], not " + c10::str(options.percentile));
  }
  style.percentile = options.percentile;
  return style;
}

// Batches of consecutive images with one target, of at most `size` images: the same on every
// rank, so that a batch's index names it.
std::vector<std::vector<size_t>> batches_of(const std::vector<DataItem>& items, size_t size) {
  std::vector<std::vector<size_t>> batches;
  for (size_t i = 0; i < items.size(); ++i) {
    if (batches.empty() || batches.back().size() == size ||
        items[i].target != items[i - 1].target) {
      batches.emplace_back();
    }
    batches.back().push_back(i);
  }
  return batches;
}

// One run: its settings, checked, and the work on one batch.
struct ExplainRun {
  ExplainRun(const Model& model, const ExplainOptions& options) : model(model), options(options) {}
  const Model& model;
  const ExplainOptions& options;
  std::vector<std::string> names;
  Target target;
  Params params;
  Style style;
  Formats formats;
  std::vector<DataItem> items;
  std::vector<std::string> stems;
  fs::path out_dir;
  std::string fingerprint;  // what the files depend on: an image is done when its record has it

  fs::path record(size_t i) const { return out_dir / ".done" / (stems[i] + ".json"); }
  bool done(size_t i) const;
  void explain_batch(const std::vector<size_t>& batch, Progress& progress) const;
};

bool ExplainRun::done(size_t i) const {
  std::error_code ec;
  if (!fs::exists(record(i), ec)) return false;
  try {
    const auto json = nlohmann::json::parse(read_file(record(i), "result record"));
    return json.at("config").get<std::string>() == fingerprint &&
           json.at("image_digest").get<std::string>() == file_digest(items[i].file, "image file");
  } catch (const nlohmann::json::exception&) {
    return false;
  } catch (const FileError&) {
    return false;
  }
}

void ExplainRun::explain_batch(const std::vector<size_t>& batch, Progress& progress) const {
  std::vector<Input> inputs;
  std::vector<at::Tensor> tensors;
  std::map<size_t, std::string> digests;  // of the images as read, for their records
  for (size_t i : batch) {
    progress.start(items[i].key);
    digests[i] = file_digest(items[i].file, "image file");
    inputs.push_back(preprocess(read_image(items[i].file), model.preprocessing));
    tensors.push_back(inputs.back().tensor);
  }
  const size_t count = batch.size();
  const at::Tensor x = at::cat(tensors, 0).to(model.device());
  const auto& first = items[batch.front()];
  // One call for all methods: they share the forward trace (the logits written below) and the
  // gradient sweep.
  const auto start = std::chrono::steady_clock::now();
  const auto results =
      explain(model, x, names, first.target ? Target::index(*first.target) : target, params);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Explanation& any = results.begin()->second;
  const at::Tensor logits = any.logits.to(at::kCPU, at::kDouble);
  const at::Tensor probs = at::softmax(logits, 1);
  const std::vector<int64_t>& classes = any.classes;

  std::vector<std::vector<at::Tensor>> overlays(count);
  for (const auto& name : names) {
    const auto found = results.find(name);
    if (found == results.end()) throw Error("method " + name + " returned no explanation");
    const Explanation& e = found->second;
    // Per image: the method's own time when explain() measured it, else a share of the call;
    // and the forward trace and gradient sweep that all methods of the call shared.
    const auto timed = e.stats.find("seconds");
    const double seconds = (timed != e.stats.end() ? timed->second : wall / names.size()) / count;
    const auto shared = e.stats.find("shared_seconds");
    const double shared_seconds = shared != e.stats.end() ? shared->second / count : 0.0;

    for (size_t i = 0; i < count; ++i) {
      const size_t image = batch[i];
      const at::Tensor heat = style.heat(e, static_cast<int64_t>(i));
      const at::Tensor blended = overlay(inputs[i].image, heat, options.alpha);
      overlays[i].push_back(blended);

      const fs::path base = out_dir / (stems[image] + "_" + name);
      std::vector<std::string> written;  // file suffixes, for the line printed
      if (formats.png) {
        write_image(base.string() + ".png", blended);
        written.push_back(".png");
      }
      if (formats.heatmap) {
        write_image(base.string() + "_heatmap.png", heat);
        written.push_back("_heatmap.png");
      }
      const at::Tensor attribution =
          e.attribution[i].detach().to(at::kCPU, at::kFloat).contiguous();
      if (formats.npy) {
        write_npy(base.string() + ".npy", attribution);
        written.push_back(".npy");
      }

      const int64_t cls = classes[i];
      if (formats.json) {
        nlohmann::json stats = nlohmann::json::object();
        for (const auto& [key, value] : e.stats) stats[key] = value;
        write_file(base.string() + ".json",
                   nlohmann::json{{"image", items[image].file.string()},
                                  {"model", model.path().string()},
                                  {"class", cls},
                                  {"label", label_of(model, cls)},
                                  {"score", probs[i][cls].item<double>()},
                                  {"logit", logits[i][cls].item<double>()},
                                  {"method", name},
                                  {"params", params.values()},
                                  {"layer", e.layer},
                                  {"stats", stats},
                                  {"seconds", seconds},
                                  {"attribution_shape", attribution.sizes().vec()}}
                           .dump(2) +
                       "\n");
        written.push_back(".json");
      }
      std::string files;
      for (const auto& w : written) files += (files.empty() ? "" : ",") + w;
      progress.print(base.string() + (written.size() == 1 ? files : "{" + files + "}") + "  " +
                     label_of(model, cls) + " (" + std::to_string(cls) +
                     ", p=" + fixed(probs[i][cls].item<double>(), 3) + ")  " + fixed(seconds, 2) +
                     " s (+ " + fixed(shared_seconds, 2) + " s shared)");
    }
  }

  for (size_t i = 0; i < count; ++i) {
    const size_t image = batch[i];
    if (formats.grid) {
      const int64_t cls = classes[i];
      std::vector<at::Tensor> pictures{inputs[i].image};
      std::vector<std::string> titles{label_of(model, cls) + " " + fixed(probs[i][cls].item<double>(), 2)};
      pictures.insert(pictures.end(), overlays[i].begin(), overlays[i].end());
      titles.insert(titles.end(), names.begin(), names.end());
      const auto file = out_dir / (stems[image] + "_grid.png");
      write_image(file, grid(pictures, titles, static_cast<int>(std::min<size_t>(pictures.size(), 4))));
      progress.print(file.string());
    }
    // Last: the image counts as done only once all its files are there.
    write_file(record(image), nlohmann::json{{"image", items[image].file.string()},
                                             {"image_digest", digests[image]},
                                             {"config", fingerprint},
                                             {"rank", Cluster::get().rank()}}
                                      .dump() +
                                  "\n");
  }
}

void run_explain(const Global& global, const ExplainOptions& options) {
  const Model model = load_model(global);
  // Check every argument before the (slow) work starts.
  ExplainRun run(model, options);
  run.names = method_names(options.methods);
  run.target = Target::parse(options.target);
  run.params = parse_params(options.params);
  if (!options.layer.empty()) run.params.set("layer", options.layer);
  if (!options.layer.empty()) model.graph().resolve(options.layer);  // throws LookupError
  check_parameters(run.names, run.params);
  run.style = style_of(options);
  run.formats = parse_formats(options.formats);
  run.items = items_of(options, model);
  for (const auto& item : run.items) {
    std::error_code ec;
    if (!fs::is_regular_file(item.file, ec)) {
      throw FileError("no image " + printable(item.file.string()));
    }
    check_utf8_name(item.file, "image file");
  }
  check_utf8_name(model.path(), "model file");
  run.stems = unique_stems(run.items);
  run.out_dir = options.out;
  run.fingerprint = nlohmann::json{
      {"model", model.path().string()},
      {"model_digest", file_digest(model.path(), "model file", limits().model_bytes)},
      {"preprocessing", model.preprocessing.name},
      {"methods", run.names},
      {"target", options.target},
      {"params", run.params.values()},
      {"formats", options.formats},
      {"colormap", options.colormap},
      {"normalize", options.normalize},
      {"percentile", options.percentile},
      {"alpha",
       options.alpha}}.dump();

  ResumableRun resumable(run.out_dir, run.out_dir / ".done", run.fingerprint);
  const size_t reused = resumable.run(
      batches_of(run.items, static_cast<size_t>(std::max(1, options.batch))),
      [&](size_t i) { return run.done(i); },
      [&](const std::vector<size_t>& batch, Progress& progress) {
        run.explain_batch(batch, progress);
      },
      "explain", run.names);
  if (Cluster::get().root() && reused > 0) {
    resumable.progress().print(std::to_string(reused) + " of " + std::to_string(run.items.size()) +
                               " images already done in " + run.out_dir.string());
  }
}

}  // namespace

Command add_explain(CLI::App& parent) {
  auto o = std::make_shared<ExplainOptions>();
  CLI::App* app = parent.add_subcommand("explain", "compute attribution maps and write them to a folder");
  app->add_option("images", o->images, "image files or folders (default: the bundled chelsea.png)");
  app->add_option("--list", o->list,
                  "CSV list of images: image[,target][,box][,mask][,gaze] (docs/datasets.md)");
  app->add_option("--formats", o->formats,
                  "files to write: png (overlay), heatmap, npy, json, grid")
      ->capture_default_str();
  app->add_option("--method,-m", o->methods, "comma-separated explanation methods")->capture_default_str();
  app->add_option("--target,-t", o->target, kTargetHelp)->capture_default_str();
  app->add_option("--out,-o", o->out, "output folder")->capture_default_str();
  app->add_option("--colormap", o->colormap,
                  "jet, turbo, viridis, inferno or red-blue (default: red-blue for signed maps, else jet)");
  app->add_option("--alpha", o->alpha, "overlay opacity of the map")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app->add_option("--normalize", o->normalize,
                  "absolute, positive or signed (default: signed for signed maps, else positive)");
  app->add_option("--percentile", o->percentile, "clip map values beyond this percentile of magnitudes")
      ->capture_default_str();
  app->add_option("--layer", o->layer, "layer (node or value name) for CAM methods; see `whitebox inspect`");
  app->add_option("--param,-p", o->params, "method hyper-parameter key=value (repeatable)")
      ->allow_extra_args(false);  // one pair per --param: later words stay image names
  app->add_option("--batch", o->batch, "images per forward pass")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  return {app, [o](const Global& global) { run_explain(global, *o); }};
}

}  // namespace whitebox::cli
