// Metrics over a data set: the explanations of many images (or of one image by many models)
// compared with each other, against the predictions they accompany.
#include "whitebox/metrics/dataset.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/metrics/registry.hpp"
#include "whitebox/similarity.hpp"

namespace whitebox::metrics {
namespace {

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

// Profiles as [N, D] float64 on the CPU, one prediction per row.
at::Tensor checked_profiles(const at::Tensor& profiles, const std::vector<int64_t>& predictions,
                            const std::string& metric) {
  if (!profiles.defined() || profiles.dim() != 2 ||
      profiles.size(0) != static_cast<int64_t>(predictions.size())) {
    throw InputError(metric + " needs profiles [N, D] and N predictions, not " +
                     (profiles.defined() ? c10::str(profiles.sizes()) : std::string("none")) +
                     " and " + std::to_string(predictions.size()));
  }
  return profiles.detach().to(at::kCPU, at::kDouble).contiguous();
}

// The share of `others` (indices) predicted as `own`; NaN when there are none.
double same_prediction_share(const std::vector<int64_t>& others,
                             const std::vector<int64_t>& predictions, int64_t own) {
  if (others.empty()) return kNone;
  const auto same =
      std::count_if(others.begin(), others.end(), [&](int64_t j) { return predictions[j] == own; });
  return static_cast<double>(same) / static_cast<double>(others.size());
}

}  // namespace

at::Tensor grid_profile(const at::Tensor& map, int64_t grid) {
  if (!map.defined() || map.dim() != 2) {
    throw InputError("a map profile needs a map [H, W], not " +
                     (map.defined() ? c10::str(map.sizes()) : std::string("none")));
  }
  if (grid < 1 || grid > std::min(map.size(0), map.size(1))) {
    throw ArgumentError("grid must be between 1 and the map's side (" +
                        std::to_string(std::min(map.size(0), map.size(1))) + "), not " +
                        std::to_string(grid));
  }
  const at::Tensor cells =
      at::adaptive_avg_pool2d(map.detach().to(at::kCPU, at::kDouble).abs().unsqueeze(0),
                              {grid, grid})
          .flatten();
  const double top = cells.max().item<double>();
  return top > 0 ? cells / top : cells;
}

std::vector<double> sufficiency(const at::Tensor& profiles, const std::vector<int64_t>& predictions,
                                double threshold) {
  const at::Tensor x = checked_profiles(profiles, predictions, "sufficiency");
  const int64_t n = x.size(0);
  if (n == 0) return {};
  // Standardised coordinates: the Euclidean distance of these rows is the standardised one.
  const at::Tensor variance = x.var(0);
  const at::Tensor varying = variance > 0;
  const at::Tensor z = x.index({at::indexing::Slice(), varying}) / variance.index({varying}).sqrt();
  // Rows in blocks, so that memory stays flat over a large data set: the largest distance first,
  // then the images each explanation applies to.
  constexpr int64_t kBlock = 512;
  double largest = 0;
  for (int64_t first = 0; first < n; first += kBlock) {
    const at::Tensor d = at::cdist(z.narrow(0, first, std::min(kBlock, n - first)), z);
    largest = std::max(largest, d.max().item<double>());
  }
  std::vector<double> share(static_cast<size_t>(n));
  for (int64_t first = 0; first < n; first += kBlock) {
    const int64_t rows = std::min(kBlock, n - first);
    at::Tensor d = at::cdist(z.narrow(0, first, rows), z);
    if (largest > 0) d = d / largest;
    const at::Tensor applies = (d <= threshold).contiguous();
    const bool* flags = applies.data_ptr<bool>();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = first + r;
      std::vector<int64_t> others;
      for (int64_t j = 0; j < n; ++j) {
        if (j != i && flags[r * n + j]) others.push_back(j);
      }
      share[i] = same_prediction_share(others, predictions, predictions[i]);
    }
  }
  return share;
}

std::vector<double> consistency(const at::Tensor& profiles, const std::vector<int64_t>& predictions,
                                int64_t top) {
  const at::Tensor x = checked_profiles(profiles, predictions, "consistency");
  if (top < 1 || top > x.size(1)) {
    throw ArgumentError("top must be between 1 and the profile's length (" +
                        std::to_string(x.size(1)) + "), not " + std::to_string(top));
  }
  // Each explanation as its set of highest coordinates (a stable sort: ties to the lower index).
  const at::Tensor order =
      std::get<1>(at::sort(x, /*stable=*/true, /*dim=*/1, /*descending=*/true)).narrow(1, 0, top);
  const at::Tensor sets = std::get<0>(at::sort(order, 1)).contiguous();
  const int64_t n = x.size(0);
  std::map<std::vector<int64_t>, std::vector<int64_t>> images_of;
  std::vector<std::vector<int64_t>> set_of(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* row = sets.data_ptr<int64_t>() + i * top;
    set_of[i].assign(row, row + top);
    images_of[set_of[i]].push_back(i);
  }
  std::vector<double> share(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> others;
    for (int64_t j : images_of.at(set_of[i])) {
      if (j != i) others.push_back(j);
    }
    share[i] = same_prediction_share(others, predictions, predictions[i]);
  }
  return share;
}

double spearman_distance(const at::Tensor& a, const at::Tensor& b) {
  return std::sqrt(std::max(0.0, 1.0 - std::abs(rank_correlation(a, b))));
}

Generalisation generalisation(const std::vector<double>& agreeing,
                              const std::vector<double>& disagreeing) {
  Generalisation g{kNone, kNone};
  if (agreeing.empty()) return g;
  double sum = 0;
  for (double d : agreeing) sum += d;
  g.mege = 1.0 / (1.0 + sum / static_cast<double>(agreeing.size()));
  if (disagreeing.empty()) return g;
  std::vector<double> a = agreeing, d = disagreeing;
  std::sort(a.begin(), a.end());
  std::sort(d.begin(), d.end());
  // A threshold below every distance gives TPR 0 and TNR 1; the others are the distances.
  g.reco = 0;
  for (const auto* set : {&a, &d}) {
    for (double threshold : *set) {
      const auto below_a = std::upper_bound(a.begin(), a.end(), threshold) - a.begin();
      const auto below_d = std::upper_bound(d.begin(), d.end(), threshold) - d.begin();
      const double tpr = static_cast<double>(below_a) / static_cast<double>(a.size());
      const double tnr = 1.0 - static_cast<double>(below_d) / static_cast<double>(d.size());
      g.reco = std::max(g.reco, tpr + tnr - 1.0);
    }
  }
  return g;
}

DatasetValues evaluate_dataset(const MetricInfo& metric, const std::vector<Sample>& samples,
                               const Params& params) {
  if (!metric.over_dataset()) throw ArgumentError(metric.name + " is not a metric over a data set");
  std::vector<std::vector<double>> observations;
  for (const Sample& s : samples) observations.push_back(metric.dataset.observe(s, params));
  return metric.dataset.combine(observations, params);
}

namespace detail {
namespace {

// The side of the grid over which sufficiency and consistency compare maps.
constexpr int64_t kProfileGrid = 7;

// The predicted class of the sample's image.
int64_t prediction_of(const Sample& s, const std::string& metric) {
  return model_of(s, metric).logits(s.image.unsqueeze(0)).argmax(1).item<int64_t>();
}

// The data-set step of sufficiency and consistency: each image observed as its predicted class
// and its map's profile; `local` gives every image's value from the profiles [N, D] and the
// predictions.
using LocalShares = std::function<std::vector<double>(
    const at::Tensor& profiles, const std::vector<int64_t>& predictions, const Params&)>;
DatasetStep profile_shares(const std::string& name, const LocalShares& local) {
  return {.observe =
              [name](const Sample& s, const Params& p) {
                std::vector<double> o{static_cast<double>(prediction_of(s, name))};
                const at::Tensor profile = grid_profile(s.map, positive(p, "grid", kProfileGrid));
                o.insert(o.end(), profile.data_ptr<double>(),
                         profile.data_ptr<double>() + profile.numel());
                return o;
              },
          .combine =
              [name, local](const std::vector<std::vector<double>>& observations, const Params& p) {
                std::vector<int64_t> predictions;
                std::vector<at::Tensor> rows;
                for (const auto& o : observations) {
                  if (o.size() < 2 || o.size() != observations[0].size())
                    throw InputError(name + ": the images' observations differ in length");
                  predictions.push_back(static_cast<int64_t>(o[0]));
                  rows.push_back(to_tensor(std::vector<double>(o.begin() + 1, o.end())));
                }
                DatasetValues values;
                if (rows.empty()) return values;
                for (double v : local(at::stack(rows), predictions, p))
                  values.per_image.push_back({{name, v}});
                return values;
              }};
}

// Models named by path, each loaded once per process on the device and in the type of `like`:
// a data-set run explains every image with the same ones.
const Model& loaded_model(const std::string& path, const Model& like) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<const Model>> models;
  const std::string key = path + "|" + c10::str(like.device()) + "|" + c10::str(like.dtype());
  const std::lock_guard<std::mutex> lock(mutex);
  auto& model = models[key];
  if (!model)
    model = std::make_unique<const Model>(Model::load(path).to(like.device()).to(like.dtype()));
  return *model;
}

// MeGe's observations of one image: (1 for an agreeing pair, 0 for a disagreeing one, distance)
// for every pair of the sample's model and the `models` files.
std::vector<double> model_pairs(const Sample& s, const Params& p) {
  const Model& own = model_of(s, "mege");
  std::vector<const Model*> models{&own};
  std::stringstream files(p.text("models", ""));
  for (std::string file; std::getline(files, file, ',');) {
    if (!file.empty()) models.push_back(&loaded_model(file, own));
  }
  if (models.size() < 2) {
    throw ArgumentError("mege needs other models trained on other data: models=FILE[,FILE...]");
  }
  const at::Tensor x = s.image.unsqueeze(0);
  std::vector<at::Tensor> maps;
  std::vector<bool> right;
  int64_t classes = 0;
  for (const Model* model : models) {
    const at::Tensor logits = model->logits(x);
    if (model == &own) classes = logits.size(1);
    if (logits.size(1) != classes) {
      throw ArgumentError("mege: the models must have the explained model's " +
                          std::to_string(classes) + " classes, not " +
                          std::to_string(logits.size(1)));
    }
    right.push_back(logits.argmax(1).item<int64_t>() == s.cls);
    maps.push_back(model == &own ? s.map : explainer_on(*model, s, "mege")(x, s.cls)[0]);
  }
  std::vector<double> pairs;
  for (size_t i = 0; i < models.size(); ++i) {
    for (size_t j = i + 1; j < models.size(); ++j) {
      if (!right[i] && !right[j]) continue;
      pairs.push_back(right[i] && right[j] ? 1.0 : 0.0);
      pairs.push_back(spearman_distance(maps[i], maps[j]));
    }
  }
  return pairs;
}

}  // namespace

void add_dataset_metrics(std::vector<MetricInfo>& registry) {
  const Declared grid{integer_parameter(
      "grid", kProfileGrid, "the map is compared as its |map| averaged over grid x grid cells", 1)};
  registry.push_back(
      {.name = "sufficiency",
       .group = Group::Faithfulness,
       .summary = "over the data set: the share of the images whose explanation is close to this "
                  "image's (normalised standardised distance <= threshold) that the model "
                  "predicts as this image",
       .citation = "Dasgupta, Frost & Moshkovitz, Framework for Evaluating Faithfulness of Local "
                   "Explanations, ICML 2022",
       .needs_model = true,
       .values = {{"sufficiency", true}},
       .parameters = grid + Declared{number_parameter(
                                "threshold", kSufficiencyThreshold,
                                "largest distance (share of the largest one) at which one "
                                "image's explanation applies to another",
                                0, 1)},
       .dataset = profile_shares("sufficiency", [](const auto& profiles, const auto& predictions,
                                                   const Params& p) {
         return sufficiency(profiles, predictions, p.number("threshold", kSufficiencyThreshold));
       })});
  registry.push_back(
      {.name = "consistency",
       .group = Group::Robustness,
       .summary = "over the data set: the share of the images with the same explanation (the "
                  "same top cells of the map) that the model predicts as this image",
       .citation = "Dasgupta, Frost & Moshkovitz, Framework for Evaluating Faithfulness of Local "
                   "Explanations, ICML 2022",
       .needs_model = true,
       .values = {{"consistency", true}},
       .parameters =
           grid + Declared{integer_parameter("top", kConsistencyTop,
                                             "cells that make an explanation (as a set)", 1)},
       .dataset = profile_shares(
           "consistency", [](const auto& profiles, const auto& predictions, const Params& p) {
             return consistency(profiles, predictions, positive(p, "top", kConsistencyTop));
           })});
  registry.push_back(
      {.name = "mege",
       .group = Group::Robustness,
       .summary = "over the data set: how alike the maps of models trained on other data are "
                  "where they agree (MeGe), and how well that likeness tells agreeing models from "
                  "disagreeing ones (ReCo)",
       .citation = "Fel, Vigouroux, Cadene & Serre, How Good is your Explanation? Algorithmic "
                   "Stability Measures to Assess the Quality of Explanations for Deep Neural "
                   "Networks, WACV 2022",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"mege", true}, {"reco", true}},
       .parameters = {{"models", "",
                       "ONNX files of the same network trained on other data (other folds), "
                       "comma-separated; the explained model is one of the set"}},
       .dataset = {
           .observe = model_pairs,
           .combine = [](const std::vector<std::vector<double>>& observations, const Params&) {
             std::vector<double> agreeing, disagreeing;
             for (const auto& o : observations) {
               for (size_t k = 0; k + 1 < o.size(); k += 2)
                 (o[k] != 0 ? agreeing : disagreeing).push_back(o[k + 1]);
             }
             const Generalisation g = generalisation(agreeing, disagreeing);
             DatasetValues values;
             values.per_image.resize(observations.size());
             values.overall = {{"mege", g.mege}, {"reco", g.reco}};
             return values;
           }}});
}

}  // namespace detail

}  // namespace whitebox::metrics
