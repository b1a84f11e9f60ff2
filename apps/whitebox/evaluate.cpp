// whitebox evaluate: metrics of explanation methods over a folder of images or a list file, per
// image and aggregated, resumable: each finished image leaves one result file, written
// atomically, with what the metrics over the data set keep of it. Under MPI the images are shared
// out over the ranks; rank 0 combines the data-set metrics and writes the summary.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "cluster.hpp"
#include "commands.hpp"
#include "resumable.hpp"
#include "whitebox/dataset.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/limits.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::cli {
namespace {

namespace fs = std::filesystem;
using Values = std::map<std::string, double>;        // value name -> number
using MethodValues = std::map<std::string, Values>;  // method -> values
// What the metrics over the data set keep of one image: method -> metric -> numbers.
using Observations = std::map<std::string, std::map<std::string, std::vector<double>>>;

struct ImageResult {
  MethodValues values;
  Observations observations;
};

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

struct EvaluateOptions {
  std::string images, list, methods = whitebox::metrics::kEvaluateMethods,
                           metrics = whitebox::metrics::kEvaluateMetrics;
  std::string boxes, masks, gaze, out = "whitebox-eval", target = "top1";
  std::vector<std::string> params, metric_params;
};

// ---------------------------------------------------------------------------------------------
// Results: one JSON file per image, aggregated at the end.

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

struct Summary {
  int64_t n = 0;
  double mean = kMissing, std = kMissing, low = kMissing, high = kMissing;
};

Summary summarise(const std::vector<double>& values) {
  Summary s;
  std::vector<double> finite;
  for (double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  s.n = static_cast<int64_t>(finite.size());
  if (s.n == 0) return s;
  double sum = 0;
  for (double v : finite) sum += v;
  s.mean = sum / s.n;
  if (s.n < 2) return s;
  double squares = 0;
  for (double v : finite) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / (s.n - 1));
  std::tie(s.low, s.high) = metrics::mean_interval95(finite);
  return s;
}

std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  std::ostringstream out;
  out << std::setprecision(10) << v;
  return out.str();
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// ---------------------------------------------------------------------------------------------

struct Plan {
  std::vector<std::string> methods;
  std::vector<const metrics::MetricInfo*> metrics;
  Target target;
  Params method_params, metric_params;
  std::string fingerprint;  // what the results depend on: a result file is reused only if equal
};

// Focus's images of other classes for image `self` of the run: images whose class (the list's,
// when it gives one, and the predicted one) is not `cls`, tried in an order drawn from `self`;
// read once for all the methods.
std::function<at::Tensor(int64_t)> other_images(const Model& model,
                                                const std::vector<DataItem>& items, size_t self,
                                                int64_t cls) {
  auto drawn = std::make_shared<std::vector<at::Tensor>>();
  return [&model, &items, self, cls, drawn](int64_t count) {
    std::vector<size_t> order(items.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::shuffle(order.begin(), order.end(), std::mt19937_64(self));
    for (size_t j : order) {
      if (static_cast<int64_t>(drawn->size()) >= count) break;
      if (j == self || (items[j].target && *items[j].target == cls)) continue;
      const at::Tensor x = preprocess(read_image(items[j].file), model.preprocessing)
                               .tensor.to(model.device(), model.dtype());
      if (model.logits(x).argmax(1).item<int64_t>() != cls) drawn->push_back(x[0]);
    }
    if (static_cast<int64_t>(drawn->size()) < count) {
      throw InputError("focus: the data set has fewer than " + std::to_string(count) +
                       " images of classes other than " + std::to_string(cls));
    }
    return at::stack(std::vector<at::Tensor>(drawn->begin(), drawn->begin() + count));
  };
}

// Every metric on every method for image `index` of the run.
ImageResult evaluate_image(const Model& model, const std::vector<DataItem>& items, size_t index,
                           const Plan& plan) {
  const DataItem& entry = items[index];
  const at::Tensor picture = read_image(entry.file);
  const Input input = preprocess(picture, model.preprocessing);
  const at::Tensor x = input.tensor.to(model.device(), model.dtype());

  metrics::Sample sample;
  sample.model = &model;
  sample.image = x[0];
  sample.cls = entry.target ? *entry.target : plan.target.resolve(model, model.logits(x)).front();
  const Annotations annotated = annotations(entry, picture, model.preprocessing);
  sample.mask = annotated.mask;
  sample.reference = annotated.reference;
  // An object cropped away by the central crop leaves nothing to localise: no value.
  const bool has_object = sample.mask.defined() && sample.mask.any().item<bool>();

  sample.other_images = other_images(model, items, index, sample.cls);

  const auto maps = explain(model, x, plan.methods, Target::index(sample.cls), plan.method_params);
  ImageResult result;
  for (const auto& method : plan.methods) {
    sample.map = maps.at(method).map[0].to(at::kDouble);
    sample.method = method;
    sample.method_params = parameters_for(find_method(method), plan.method_params);
    Values& values = result.values[method];
    for (const metrics::MetricInfo* metric : plan.metrics) {
      if (metric->over_dataset()) {
        result.observations[method][metric->name] =
            metric->dataset.observe(sample, plan.metric_params);
      } else if ((metric->needs_mask && !has_object) ||
                 (metric->needs_reference && !sample.reference.defined())) {
        for (const auto& [name, higher] : metric->values) values[name] = kMissing;
      } else {
        for (const auto& [name, value] : metric->run(sample, plan.metric_params))
          values[name] = value;
      }
    }
  }
  return result;
}

// What an image's results depend on besides the run's settings: the content of its files, its
// target and its boxes.
std::string item_digest(const DataItem& item) {
  std::string digest = file_digest(item.file, "image file");
  if (!item.mask.empty()) digest += " mask " + file_digest(item.mask, "mask file");
  if (!item.gaze.empty()) digest += " gaze " + file_digest(item.gaze, "gaze file");
  if (item.target) digest += " target " + std::to_string(*item.target);
  for (const auto& box : item.boxes) {
    digest += " box " + std::to_string(box.x0) + "," + std::to_string(box.y0) + "," +
              std::to_string(box.x1) + "," + std::to_string(box.y1);
  }
  return digest;
}

// The results of an earlier run for this image, if they were made with the same settings and
// the same files, and are complete.
std::optional<ImageResult> cached(const fs::path& file, const DataItem& item, const Plan& plan) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  try {
    const nlohmann::json json = nlohmann::json::parse(read_file(file, "result file"));
    if (json.at("config").get<std::string>() != plan.fingerprint ||
        json.at("image_digest").get<std::string>() != item_digest(item)) {
      return std::nullopt;
    }
    ImageResult result;
    for (const auto& method : plan.methods) {
      for (const auto* metric : plan.metrics) {
        if (metric->over_dataset()) {
          result.observations[method][metric->name] =
              json.at("observations").at(method).at(metric->name).get<std::vector<double>>();
          continue;
        }
        for (const auto& [name, higher] : metric->values) {
          const auto& value = json.at("results").at(method).at(name);
          result.values[method][name] = value.is_number() ? value.get<double>() : kMissing;
        }
      }
    }
    return result;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // unreadable: computed again
  }
}

// The values of a run: those of each image, with the metrics over the data set filled in, and
// those that exist only for the whole set.
struct RunResults {
  std::vector<MethodValues> images;
  std::map<std::string, Values> overall;  // method -> value name -> number

  Summary summary(const std::string& method, const std::string& column) const {
    if (const auto m = overall.find(method); m != overall.end()) {
      if (const auto v = m->second.find(column); v != m->second.end()) {
        Summary s;
        if (std::isfinite(v->second)) s.n = static_cast<int64_t>(images.size()), s.mean = v->second;
        return s;
      }
    }
    std::vector<double> values;
    for (const auto& r : images) values.push_back(r.at(method).at(column));
    return summarise(values);
  }
};

// Every image's values, and the metrics over the data set combined from their observations.
RunResults combine(const Plan& plan, std::vector<ImageResult> images) {
  RunResults run;
  for (auto& image : images) run.images.push_back(std::move(image.values));
  for (const auto* metric : plan.metrics) {
    if (!metric->over_dataset()) continue;
    for (const auto& method : plan.methods) {
      std::vector<std::vector<double>> observations;
      for (const auto& image : images)
        observations.push_back(image.observations.at(method).at(metric->name));
      const metrics::DatasetValues combined =
          metric->dataset.combine(observations, plan.metric_params);
      for (size_t i = 0; i < images.size(); ++i) {
        for (const auto& [name, higher] : metric->values) {
          double& value = run.images[i][method][name];
          value = kMissing;
          if (i < combined.per_image.size()) {
            if (const auto v = combined.per_image[i].find(name); v != combined.per_image[i].end())
              value = v->second;
          }
        }
      }
      for (const auto& [name, value] : combined.overall) run.overall[method][name] = value;
    }
  }
  return run;
}

void write_summary(const fs::path& out_dir, const Plan& plan, const std::vector<DataItem>& images,
                   const RunResults& results) {
  // Value names in metric order, each with whether higher is better.
  std::vector<std::pair<std::string, bool>> columns;
  for (const auto* metric : plan.metrics)
    columns.insert(columns.end(), metric->values.begin(), metric->values.end());

  std::ostringstream per_image;
  per_image << "image,method,metric,value\n";
  nlohmann::json image_json = nlohmann::json::object();
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string& name = images[i].key;
    for (const auto& method : plan.methods) {
      for (const auto& [column, higher] : columns) {
        const double v = results.images[i].at(method).at(column);
        per_image << csv_field(name) << "," << method << "," << column << "," << csv_number(v)
                  << "\n";
        image_json[name][method][column] = number_or_null(v);
      }
    }
  }

  std::ostringstream summary;
  summary << "method,metric,higher_is_better,n,mean,std,ci95_low,ci95_high\n";
  nlohmann::json summary_json = nlohmann::json::object();
  for (const auto& method : plan.methods) {
    for (const auto& [column, higher] : columns) {
      const Summary s = results.summary(method, column);
      summary << method << "," << column << "," << (higher ? "true" : "false") << "," << s.n << ","
              << csv_number(s.mean) << "," << csv_number(s.std) << "," << csv_number(s.low) << ","
              << csv_number(s.high) << "\n";
      summary_json[method][column] = {{"n", s.n},
                                      {"mean", number_or_null(s.mean)},
                                      {"std", number_or_null(s.std)},
                                      {"ci95", {number_or_null(s.low), number_or_null(s.high)}},
                                      {"higher_is_better", higher}};
    }
  }
  write_file(out_dir / "per_image.csv", per_image.str());
  write_file(out_dir / "summary.csv", summary.str());
  write_file(out_dir / "results.json",
             nlohmann::json{{"config", nlohmann::json::parse(plan.fingerprint)},
                            {"summary", summary_json},
                            {"images", image_json}}
                     .dump(2) +
                 "\n");
}

// The run's settings, checked (methods, metrics and their parameters, the annotations the metrics
// need) before anything is written, with the fingerprint that saved results must match.
Plan make_plan(const Model& model, const EvaluateOptions& options,
               const std::vector<DataItem>& items) {
  Plan plan;
  plan.methods = method_names(options.methods);
  for (const auto& name : split_list(options.metrics))
    plan.metrics.push_back(&metrics::find_metric(name));
  if (plan.metrics.empty()) throw ArgumentError("--metric needs at least one metric name");
  plan.target = Target::parse(options.target);
  plan.method_params = parse_params(options.params);
  check_parameters(plan.methods, plan.method_params);
  plan.metric_params = parse_params(options.metric_params, "--metric-param");
  std::vector<std::string> metric_names;
  for (const auto* metric : plan.metrics) metric_names.push_back(metric->name);
  metrics::check_parameters(metric_names, plan.metric_params);
  const bool objects = std::any_of(items.begin(), items.end(), [](const DataItem& item) {
    return !item.boxes.empty() || !item.mask.empty();
  });
  const bool gaze = std::any_of(items.begin(), items.end(),
                                [](const DataItem& item) { return !item.gaze.empty(); });
  for (const auto* metric : plan.metrics) {
    if (metric->needs_mask && !objects) {
      throw ArgumentError("metric " + metric->name +
                          " needs object annotations: --boxes FILE, --masks DIR, or a list with "
                          "a box or mask column");
    }
    if (metric->needs_reference && !gaze) {
      throw ArgumentError("metric " + metric->name +
                          " needs human attention maps: --gaze DIR, or a list with a gaze column");
    }
  }

  nlohmann::json fingerprint{
      {"model", model.path().string()},
      {"model_digest", file_digest(model.path(), "model file", limits().model_bytes)},
      {"images", options.images},
      {"preprocessing", model.preprocessing.name},
      {"methods", plan.methods},
      {"target", options.target},
      {"params", plan.method_params.values()},
      {"metric_params", plan.metric_params.values()},
      {"list", options.list},
      {"boxes", options.boxes},
      {"masks", options.masks},
      {"gaze", options.gaze}};
  for (const auto* metric : plan.metrics) fingerprint["metrics"].push_back(metric->name);
  plan.fingerprint = fingerprint.dump();
  return plan;
}

// Mean and 95% interval of every method and metric value, one line each.
void print_table(Progress& progress, const Plan& plan, const RunResults& results) {
  std::ostringstream table;
  table << std::left << std::setw(24) << "method" << std::setw(34) << "metric"
        << "mean (95% interval)";
  progress.print(table.str());
  for (const auto& method : plan.methods) {
    for (const auto* metric : plan.metrics) {
      for (const auto& [column, higher] : metric->values) {
        const Summary s = results.summary(method, column);
        std::ostringstream line;
        line << std::left << std::setw(24) << method << std::setw(34)
             << (column + (higher ? " (+)" : " (-)"));
        line << std::setprecision(4) << std::fixed;
        if (s.n == 0) {
          line << "n/a";
        } else {
          line << s.mean;
          if (std::isfinite(s.low)) line << " (" << s.low << " .. " << s.high << ")";
        }
        progress.print(line.str());
      }
    }
  }
}

// This image's result file, written atomically.
void write_result(const fs::path& file, const DataItem& item, const Plan& plan,
                  const ImageResult& result) {
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [method, numbers] : result.values) {
    for (const auto& [key, v] : numbers) values[method][key] = number_or_null(v);
  }
  nlohmann::json json{{"image", item.file.string()},
                      {"image_digest", item_digest(item)},
                      {"config", plan.fingerprint},
                      {"rank", Cluster::get().rank()},
                      {"results", values}};
  if (!result.observations.empty()) json["observations"] = result.observations;
  write_file(file, json.dump(2) + "\n");
}

void run_evaluate(const Global& global, const EvaluateOptions& options) {
  // Everything is checked before the output folder is touched.
  if (options.images.empty() == options.list.empty()) {
    throw ArgumentError("evaluate needs a folder of images (--images DIR) or a list (--list FILE)");
  }
  const Model model = load_model(global);
  const std::vector<DataItem> items =
      options.list.empty() ? read_folder(options.images, options.boxes, options.masks, options.gaze)
                           : read_list(options.list, model);
  const Plan plan = make_plan(model, options, items);
  for (const auto& item : items) check_utf8_name(item.file, "image file");
  check_utf8_name(model.path(), "model file");

  const fs::path out_dir = options.out, image_dir = out_dir / "images";
  const auto result_file = [&](size_t i) { return image_dir / (items[i].key + ".json"); };
  // The values of every image go to its file, and only there: the summary reads them back, so
  // that memory stays flat over a data set and every rank's results count alike.
  ResumableRun resumable(out_dir, image_dir, plan.fingerprint);
  std::vector<std::vector<size_t>> images(items.size());
  for (size_t i = 0; i < items.size(); ++i) images[i] = {i};
  const size_t reused = resumable.run(
      images, [&](size_t i) { return cached(result_file(i), items[i], plan).has_value(); },
      [&](const std::vector<size_t>& image, Progress& progress) {
        const size_t i = image.front();
        progress.start(items[i].key);
        write_result(result_file(i), items[i], plan, evaluate_image(model, items, i, plan));
      },
      "evaluate", plan.methods);
  if (!Cluster::get().root()) return;
  Progress& progress = resumable.progress();

  std::vector<ImageResult> saved;
  for (size_t i = 0; i < items.size(); ++i) {
    auto result = cached(result_file(i), items[i], plan);
    if (!result)
      throw FileError("the results of " + items[i].origin + " are missing from " +
                      image_dir.string());
    saved.push_back(std::move(*result));
  }
  const RunResults results = combine(plan, std::move(saved));
  write_summary(out_dir, plan, items, results);

  if (reused > 0)
    progress.print(std::to_string(reused) + " of " + std::to_string(items.size()) +
                   " images reused from " + image_dir.string());
  print_table(progress, plan, results);
  progress.print("results: " + (out_dir / "summary.csv").string() + ", " +
                 (out_dir / "per_image.csv").string() + ", " + (out_dir / "results.json").string());
}

// The metrics by group, for --help: "  faithfulness: deletion, insertion, ..." wrapped at 100
// columns.
std::string metric_list() {
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& m : metrics::registry()) {
    groups[m.over_dataset() ? "over the data set" : metrics::to_string(m.group)].push_back(m.name);
  }
  std::string text = "Metrics (--metric; options and definitions: docs/metrics.md):";
  for (const auto& [group, names] : groups) {
    std::string line = "\n  " + group + ":";
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string item = " " + names[i] + (i + 1 < names.size() ? "," : "");
      if (line.size() + item.size() > 100) text += line, line = "\n   ";
      line += item;
    }
    text += line;
  }
  return text;
}

}  // namespace

Command add_evaluate(CLI::App& parent) {
  auto o = std::make_shared<EvaluateOptions>();
  CLI::App* app =
      parent.add_subcommand("evaluate", "metrics of explanation methods over a folder of images");
  auto* images = app->add_option("--images,-i", o->images, "folder of images");
  auto* list = app->add_option("--list", o->list,
                               "CSV list of images: image[,target][,box][,mask][,gaze] "
                               "(docs/datasets.md)");
  images->excludes(list);
  app->add_option("--method,-m", o->methods, "comma-separated explanation methods")
      ->capture_default_str();
  app->add_option("--metric", o->metrics, "comma-separated metrics (see docs/metrics.md)")
      ->capture_default_str();
  auto* boxes =
      app->add_option("--boxes", o->boxes,
                      "JSON {\"image.jpg\": [[x0, y0, x1, y1], ...]} in original image pixels");
  auto* masks =
      app->add_option("--masks", o->masks, "folder of object masks named like the images");
  boxes->excludes(masks);
  auto* gaze = app->add_option(
      "--gaze", o->gaze, "folder of human attention maps named like the images (image or .npy)");
  for (auto* annotation : {boxes, masks, gaze}) annotation->excludes(list);
  app->add_option("--target,-t", o->target, kTargetHelp)->capture_default_str();
  app->add_option("--out,-o", o->out, "output folder (results are resumed from it)")
      ->capture_default_str();
  app->add_option("--param,-p", o->params, "method hyper-parameter key=value (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--metric-param", o->metric_params,
                  "metric option key=value, e.g. steps=112 (repeatable)")
      ->allow_extra_args(false);
  app->footer(metric_list());
  return {app, [o](const Global& global) { run_evaluate(global, *o); }};
}

}  // namespace whitebox::cli
