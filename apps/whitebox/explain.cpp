// whitebox explain: attribution maps for images, written as pictures, .npy arrays and JSON.
#include "whitebox/explain.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "commands.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/render.hpp"

namespace whitebox::cli {
namespace {

struct ExplainOptions {
  std::vector<std::string> images;
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

void write_json(const std::filesystem::path& file, const nlohmann::json& json) {
  std::ofstream out(file);
  out << json.dump(2) << "\n";
  if (!out.flush()) throw FileError("cannot write " + file.string());
}

// A file stem per image, made unique so that a.png and a.jpg don't overwrite each other.
std::vector<std::string> unique_stems(const std::vector<std::filesystem::path>& images) {
  std::set<std::string> used;
  std::vector<std::string> stems;
  for (const auto& image : images) {
    std::string stem = image.stem().string(), candidate = stem;
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

void run_explain(const Global& global, const ExplainOptions& options) {
  const Model model = load_model(global);
  // Check every argument before the (slow) work starts.
  const auto names = method_names(options.methods);
  const Target target = Target::parse(options.target);
  Params params = parse_params(options.params);
  if (!options.layer.empty()) params.set("layer", options.layer);
  if (!options.layer.empty()) model.graph().resolve(options.layer);  // throws LookupError
  check_parameters(names, params);
  const Style style = style_of(options);

  const std::filesystem::path out_dir = options.out;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !std::filesystem::is_directory(out_dir)) {
    throw FileError("cannot create output folder " + out_dir.string() + (ec ? ": " + ec.message() : ""));
  }

  const auto images = images_or_default(options.images);
  const auto stems = unique_stems(images);
  const size_t batch_size = static_cast<size_t>(std::max(1, options.batch));
  Progress progress(images.size(), "explain");

  for (size_t first = 0; first < images.size(); first += batch_size) {
    const size_t count = std::min(batch_size, images.size() - first);
    std::vector<Input> inputs;
    std::vector<at::Tensor> tensors;
    for (size_t i = first; i < first + count; ++i) {
      progress.start(images[i].filename().string());
      inputs.push_back(preprocess(read_image(images[i]), model.preprocessing));
      tensors.push_back(inputs.back().tensor);
    }
    const at::Tensor x = at::cat(tensors, 0).to(model.device());
    // One call for all methods: they share the forward trace (the logits written below) and the
    // gradient sweep.
    const auto start = std::chrono::steady_clock::now();
    const auto results = explain(model, x, names, target, params);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
        const size_t image = first + i;
        const at::Tensor heat = style.heat(e, static_cast<int64_t>(i));
        const at::Tensor blended = overlay(inputs[i].image, heat, options.alpha);
        overlays[i].push_back(blended);

        const std::filesystem::path base = out_dir / (stems[image] + "_" + name);
        write_image(base.string() + ".png", blended);
        write_image(base.string() + "_heatmap.png", heat);
        const at::Tensor attribution = e.attribution[i].detach().to(at::kCPU, at::kFloat).contiguous();
        write_npy(base.string() + ".npy", attribution);

        const int64_t cls = classes[i];
        nlohmann::json stats = nlohmann::json::object();
        for (const auto& [key, value] : e.stats) stats[key] = value;
        write_json(base.string() + ".json",
                   {{"image", images[image].string()},
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
                    {"attribution_shape", attribution.sizes().vec()}});
        progress.print(base.string() + "{.png,_heatmap.png,.npy,.json}  " + label_of(model, cls) + " (" +
                       std::to_string(cls) + ", p=" + fixed(probs[i][cls].item<double>(), 3) + ")  " +
                       fixed(seconds, 2) + " s (+ " + fixed(shared_seconds, 2) + " s shared)");
      }
    }

    for (size_t i = 0; i < count; ++i) {
      const int64_t cls = classes[i];
      std::vector<at::Tensor> pictures{inputs[i].image};
      std::vector<std::string> titles{label_of(model, cls) + " " + fixed(probs[i][cls].item<double>(), 2)};
      pictures.insert(pictures.end(), overlays[i].begin(), overlays[i].end());
      titles.insert(titles.end(), names.begin(), names.end());
      const auto file = out_dir / (stems[first + i] + "_grid.png");
      write_image(file, grid(pictures, titles, static_cast<int>(std::min<size_t>(pictures.size(), 4))));
      progress.print(file.string());
    }
  }
}

}  // namespace

Command add_explain(CLI::App& parent) {
  auto o = std::make_shared<ExplainOptions>();
  CLI::App* app = parent.add_subcommand("explain", "compute attribution maps and write them to a folder");
  app->add_option("images", o->images, "image files (default: the bundled chelsea.png)");
  app->add_option("--method,-m", o->methods, "comma-separated explanation methods")->capture_default_str();
  app->add_option("--target,-t", o->target, "class to explain: top1, top3, a class index or a label")
      ->capture_default_str();
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
