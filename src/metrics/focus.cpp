// Focus (Arias-Duart et al. 2022): localisation without annotations. A mosaic puts the image in
// two quadrants and images of other classes in the other two; a map that explains the class
// should fall on the image's quadrants.
#include <ATen/ATen.h>

#include <sstream>

#include "metrics/common.hpp"
#include "metrics/registration.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics/localisation.hpp"

namespace whitebox::metrics {
namespace {

// `image` [C, H, W] shrunk to [C, h, w] by averaging (exact pixel blocks when the sizes divide).
at::Tensor shrunk(const at::Tensor& image, int64_t height, int64_t width) {
  return at::adaptive_avg_pool2d(image.unsqueeze(0), {height, width})[0];
}

}  // namespace

at::Tensor focus_mosaic(const at::Tensor& image, const at::Tensor& first_other,
                        const at::Tensor& second_other) {
  for (const at::Tensor* t : {&first_other, &second_other}) {
    if (!t->defined() || !t->sizes().equals(image.sizes()) || image.dim() != 3) {
      throw InputError("focus needs images [C, H, W] of one size, not " + c10::str(image.sizes()) +
                       " and " + c10::str(t->sizes()));
    }
  }
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t top = height / 2, left = width / 2;
  const at::Tensor upper = at::cat(
      {shrunk(image, top, left), shrunk(first_other.to(image.options()), top, width - left)}, 2);
  const at::Tensor lower = at::cat({shrunk(second_other.to(image.options()), height - top, left),
                                    shrunk(image, height - top, width - left)},
                                   2);
  return at::cat({upper, lower}, 1);
}

double focus(const ClassExplainer& explainer, const at::Tensor& image,
             const at::Tensor& first_other, const at::Tensor& second_other, int64_t cls) {
  const at::Tensor mosaic = focus_mosaic(image, first_other, second_other);
  const at::Tensor map = at::relu(explainer(mosaic.unsqueeze(0), cls)[0].to(at::kDouble));
  const int64_t top = map.size(0) / 2, left = map.size(1) / 2;
  const double total = map.sum().item<double>();
  const double own = map.narrow(0, 0, top).narrow(1, 0, left).sum().item<double>() +
                     map.narrow(0, top, map.size(0) - top)
                         .narrow(1, left, map.size(1) - left)
                         .sum()
                         .item<double>();
  return total > 0 ? own / total : 0.0;
}

namespace detail {
namespace {

// Focus's two images of other classes, from the files of params "others", preprocessed as the
// model wants them; each must not be predicted as the sample's class.
std::pair<at::Tensor, at::Tensor> focus_others(const Sample& s, const Params& p) {
  const Model& model = model_of(s, "focus");
  if (p.text("others", "").empty() && s.other_images) {
    const at::Tensor drawn = s.other_images(2).to(s.image.options());
    return {drawn[0], drawn[1]};
  }
  std::vector<at::Tensor> others;
  std::stringstream files(p.text("others", ""));
  for (std::string file; std::getline(files, file, ',');) {
    if (file.empty()) continue;
    const at::Tensor x = preprocess(read_image(file), model.preprocessing).tensor;
    if (model.logits(x).argmax(1).item<int64_t>() == s.cls) {
      throw ArgumentError("focus: the model predicts " + file +
                          " as the explained class; give images of other classes");
    }
    others.push_back(x[0].to(s.image.options()));
  }
  if (others.size() != 2) {
    throw ArgumentError(
        "focus needs two images of other classes: others=FILE,FILE, or a data set to draw them "
        "from (whitebox evaluate)");
  }
  return {others[0], others[1]};
}

}  // namespace

void add_focus_metric(std::vector<MetricInfo>& registry) {
  registry.push_back(
      {.name = "focus",
       .group = Group::Localisation,
       .summary = "share of the positive map of a mosaic (the image twice, two images of other "
                  "classes) that falls on the image's quadrants: 0.5 for a class-blind map",
       .citation = "Arias-Duart, Pares, Garcia-Gasulla & Gimenez-Abalos, Focus! Rating XAI "
                   "Methods and Finding Biases, FUZZ-IEEE 2022",
       .needs_model = true,
       .needs_explainer = true,
       .values = {{"focus", true}},
       .run = [](const Sample& s, const Params& p) -> Values {
         const auto [first, second] = focus_others(s, p);
         return {{"focus", focus(class_explainer_of(s, "focus"), s.image, first, second, s.cls)}};
       },
       .parameters = {{"others", "",
                       "two image files of other classes, comma-separated, placed in the "
                       "mosaic's other quadrants (default: drawn from the data set)"}}});
}

}  // namespace detail

}  // namespace whitebox::metrics
