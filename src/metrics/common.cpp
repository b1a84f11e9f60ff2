#include "metrics/common.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <tuple>

#include "whitebox/runtime.hpp"

namespace whitebox::metrics::detail {

void check_image_and_map(const at::Tensor& image, const at::Tensor& map,
                         const std::string& metric) {
  if (!image.defined() || image.dim() != 3) {
    throw InputError(metric + " needs an image [C, H, W], not one of shape " +
                     (image.defined() ? c10::str(image.sizes()) : std::string("(none)")));
  }
  if (!map.defined() || map.dim() != 2 || map.size(0) != image.size(1) ||
      map.size(1) != image.size(2)) {
    throw InputError(metric + " needs a map [" + std::to_string(image.size(1)) + ", " +
                     std::to_string(image.size(2)) +
                     "] over the image's pixels, not one of shape " +
                     (map.defined() ? c10::str(map.sizes()) : std::string("(none)")));
  }
}

void check_same_plane(const at::Tensor& a, const at::Tensor& b, const std::string& metric,
                      const std::string& what) {
  if (!a.defined() || a.dim() != 2) {
    throw InputError(metric + " needs a map [H, W], not one of shape " +
                     (a.defined() ? c10::str(a.sizes()) : std::string("(none)")));
  }
  if (!b.defined() || b.sizes() != a.sizes()) {
    throw InputError(metric + " needs " + what + " of the map's size " + c10::str(a.sizes()) +
                     ", not " + (b.defined() ? c10::str(b.sizes()) : std::string("none")));
  }
}

void require_at_least(int64_t value, int64_t least, const std::string& what) {
  if (value < least) {
    throw ArgumentError(what + " must be at least " + std::to_string(least) + ", not " +
                        std::to_string(value));
  }
}

at::Tensor min_max_scaled(const at::Tensor& map) {
  const at::Tensor m = map.to(at::kDouble);
  const double low = m.min().item<double>(), range = m.max().item<double>() - low;
  return range > 0 ? (m - low) / range : at::zeros_like(m);
}

at::Tensor as_model_input(const Model& model, const at::Tensor& image) {
  return image.to(model.device(), model.dtype());
}

at::Tensor flat_double(const at::Tensor& map, c10::Device device) {
  return map.to(device, at::kDouble).reshape({-1});
}

at::Tensor pixel_rank(const at::Tensor& map, bool descending) {
  const at::Tensor flat = map.reshape({-1});
  const at::Tensor order = std::get<1>(at::sort(flat, /*stable=*/true, /*dim=*/0, descending));
  at::Tensor rank = at::empty_like(order);
  rank.scatter_(0, order, at::arange(flat.numel(), order.options()));
  return rank.view(map.sizes());
}

std::pair<at::Tensor, at::Tensor> square_regions(const at::Tensor& map, int64_t side) {
  const int64_t height = map.size(0), width = map.size(1);
  const int64_t rows = (height + side - 1) / side, cols = (width + side - 1) / side;
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(map.device());
  const at::Tensor row = at::div(at::arange(height, long_options), side, "floor");
  const at::Tensor col = at::div(at::arange(width, long_options), side, "floor");
  const at::Tensor region = row.view({-1, 1}) * cols + col.view({1, -1});
  const at::Tensor relevance = at::zeros({rows * cols}, map.options())
                                   .index_add_(0, region.reshape({-1}), map.reshape({-1}));
  return {region, relevance};
}

at::Generator generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

at::Tensor input_noise(const at::Tensor& image, int64_t samples, double radius, uint64_t seed,
                       bool gaussian, const std::string& metric) {
  require_at_least(samples, 1, "the number of " + metric + " samples");
  if (!(radius > 0))
    throw ArgumentError("the " + metric + " radius must be positive, not " + c10::str(radius));
  at::Generator g = generator(seed);
  std::vector<int64_t> shape{samples};
  for (auto s : image.sizes()) shape.push_back(s);
  return gaussian ? radius * at::randn(shape, g, at::kDouble)
                  : radius * (2 * at::rand(shape, g, at::kDouble) - 1);
}

at::Tensor class_scores(const at::Tensor& output, int64_t cls, Score score) {
  // Classifiers ending in a 1x1 convolution give [B, K, 1, 1].
  const at::Tensor logits = output.reshape({output.size(0), -1});
  if (cls < 0 || cls >= logits.size(1)) {
    throw ArgumentError("class " + std::to_string(cls) + " is out of range for a model with " +
                        std::to_string(logits.size(1)) + " classes");
  }
  const at::Tensor values = logits.to(at::kDouble);
  return score == Score::Probability ? at::softmax(values, 1).select(1, cls)
                                     : values.select(1, cls);
}

std::vector<double> scores_of(const Model& model, int64_t count, int64_t batch, int64_t cls,
                              Score score,
                              const std::function<at::Tensor(int64_t, int64_t)>& make) {
  return scores_of(model, {count}, batch, {cls}, score,
                   [&make](size_t, int64_t first, int64_t size) { return make(first, size); })
      .front();
}

std::vector<std::vector<double>> scores_of(
    const Model& model, const std::vector<int64_t>& counts, int64_t batch,
    const std::vector<int64_t>& classes, Score score,
    const std::function<at::Tensor(size_t, int64_t, int64_t)>& make) {
  require_at_least(batch, 1, "the batch size");
  std::vector<std::vector<double>> scores(counts.size());
  int64_t total = 0;
  for (int64_t count : counts) total += count;
  plan_inputs(total);
  // A pass takes the next `batch` inputs in order, across image boundaries: (image, first, size)
  // pieces, scored with each piece's class.
  size_t image = 0;
  int64_t next = 0;
  while (true) {
    std::vector<std::tuple<size_t, int64_t, int64_t>> pieces;
    std::vector<at::Tensor> inputs;
    for (int64_t room = batch; room > 0 && image < counts.size();) {
      const int64_t size = std::min(room, counts[image] - next);
      if (size > 0) {
        pieces.emplace_back(image, next, size);
        inputs.push_back(make(image, next, size));
        room -= size;
        next += size;
      }
      if (next == counts[image]) ++image, next = 0;
    }
    if (inputs.empty()) break;
    const at::Tensor logits = model.logits(inputs.size() == 1 ? inputs.front() : at::cat(inputs));
    int64_t row = 0;
    for (const auto& [i, first, size] : pieces) {
      const at::Tensor part =
          class_scores(logits.narrow(0, row, size), classes[i], score).to(at::kCPU).contiguous();
      scores[i].insert(scores[i].end(), part.data_ptr<double>(),
                       part.data_ptr<double>() + part.numel());
      row += size;
      inputs_done(size);
    }
  }
  return scores;
}

double score_of(const Model& model, const at::Tensor& image, int64_t cls, Score score) {
  return class_scores(model.logits(image.unsqueeze(0)), cls, score).item<double>();
}

double trapezoid(const std::vector<double>& x, const std::vector<double>& y) {
  double area = 0;
  for (size_t i = 1; i < x.size() && i < y.size(); ++i)
    area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return area;
}

double pearson_flat(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.to(at::kDouble).reshape({-1}),
                   y = b.to(a.device(), at::kDouble).reshape({-1});
  const at::Tensor dx = x - x.mean(), dy = y - y.mean();
  const double denominator =
      std::sqrt((dx * dx).sum().item<double>() * (dy * dy).sum().item<double>());
  if (!(denominator > 0)) return 0.0;
  return (dx * dy).sum().item<double>() / denominator;
}

at::Tensor to_tensor(const std::vector<double>& values) {
  return at::tensor(values, at::TensorOptions().dtype(at::kDouble));
}

}  // namespace whitebox::metrics::detail
