// Resize and Upsample. Every ONNX mode resamples each axis independently: each output position
// is a weighted sum of a few input positions (taps: nearest 1, linear 2, cubic 4) whose indices
// and weights depend only on the lengths. So each resized axis is a linear map of constant
// weights, and the exact VJP is its transpose, for every mode, coordinate transformation and
// rounding rule alike.
#include <algorithm>
#include <array>
#include <cmath>

#include "ops/kernel.hpp"

namespace whitebox::ops {
namespace {

enum class Interpolation { Nearest, Linear, Cubic };

// Where output position `r` of an axis reads in the input, in input coordinates.
using Coordinate = double (*)(double r, double scale, int64_t in, int64_t out);

double half_pixel(double r, double scale, int64_t, int64_t) { return (r + 0.5) / scale - 0.5; }
double pytorch_half_pixel(double r, double scale, int64_t, int64_t out) {
  return out > 1 ? (r + 0.5) / scale - 0.5 : 0.0;
}
double half_pixel_symmetric(double r, double scale, int64_t in, int64_t out) {
  // The sampling grid is centred on the input when the output length was rounded down.
  const double adjustment = static_cast<double>(out) / (scale * static_cast<double>(in));
  const double offset = static_cast<double>(in) / 2 * (1 - adjustment);
  return offset + (r + 0.5) / scale - 0.5;
}
double align_corners(double r, double, int64_t in, int64_t out) {
  return out == 1 ? 0.0 : r * static_cast<double>(in - 1) / static_cast<double>(out - 1);
}
double asymmetric(double r, double scale, int64_t, int64_t) { return r / scale; }
double tf_half_pixel_for_nn(double r, double scale, int64_t, int64_t) { return (r + 0.5) / scale; }

using Rounding = double (*)(double);
double round_prefer_floor(double x) { return std::ceil(x - 0.5); }
double round_prefer_ceil(double x) { return std::floor(x + 0.5); }
double round_down(double x) { return std::floor(x); }
double round_up(double x) { return std::ceil(x); }

struct Resampling {
  Interpolation interpolation = Interpolation::Nearest;
  Coordinate coordinate = half_pixel;
  Rounding rounding = round_prefer_floor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

// Keys's cubic convolution weights of the neighbours at offsets -1, 0, 1, 2 from floor(x).
std::array<double, 4> cubic_weights(double t, double a) {
  auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };       // |d| <= 1
  auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };  // 1 < |d| < 2
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

// Where each output position of an axis reads, and with which weight: one list per tap
// (nearest 1, linear 2, cubic 4), computed once in double precision.
struct Taps {
  std::vector<std::vector<int64_t>> index;
  std::vector<std::vector<double>> weight;
};

Taps axis_taps(const Resampling& how, int64_t in, int64_t out, double scale) {
  const size_t taps = how.interpolation == Interpolation::Nearest  ? 1
                      : how.interpolation == Interpolation::Linear ? 2
                                                                   : 4;
  Taps t{std::vector<std::vector<int64_t>>(taps, std::vector<int64_t>(out)),
         std::vector<std::vector<double>>(taps, std::vector<double>(out, 1.0))};
  const auto last = static_cast<double>(in - 1);
  auto clamp = [in](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
  for (int64_t r = 0; r < out; ++r) {
    const double x = how.coordinate(static_cast<double>(r), scale, in, out);
    switch (how.interpolation) {
      case Interpolation::Nearest:
        t.index[0][r] = clamp(static_cast<int64_t>(how.rounding(x)));
        break;
      case Interpolation::Linear: {
        // Outside the input the nearest edge value: the same as clamping the coordinate.
        const double c = std::clamp(x, 0.0, last);
        const auto i = static_cast<int64_t>(std::floor(c));
        t.index[0][r] = i, t.weight[0][r] = 1 - (c - static_cast<double>(i));
        t.index[1][r] = clamp(i + 1), t.weight[1][r] = c - static_cast<double>(i);
        break;
      }
      case Interpolation::Cubic: {
        const double base = std::floor(x);
        const auto weights = cubic_weights(x - base, how.cubic_a);
        double total = 0;
        for (size_t k = 0; k < 4; ++k) {
          const int64_t i = static_cast<int64_t>(base) - 1 + static_cast<int64_t>(k);
          const bool outside = i < 0 || i >= in;
          t.index[k][r] = clamp(i);
          t.weight[k][r] = how.exclude_outside && outside ? 0.0 : weights[k];
          total += t.weight[k][r];
        }
        if (how.exclude_outside && total != 0) {
          for (size_t k = 0; k < 4; ++k) t.weight[k][r] /= total;
        }
        break;
      }
    }
  }
  return t;
}

// One resized axis: y[.., r, ..] = sum over taps k of weight[k][r] x[.., index[k][r], ..].
// Along a short axis (a feature map's) as a product with the dense (out x in) matrix, which BLAS
// runs faster than gathers; along a long one (an image's) by gathering the taps, which reads
// each input a few times instead of `in` times.
struct AxisResize {
  static constexpr int64_t kLongestDense = 128;
  int64_t axis;
  int64_t length;                 // of the input along the axis
  at::Tensor matrix;              // (out x in), for a short axis
  std::vector<at::Tensor> index;  // [out] per tap, for a long axis
  std::vector<at::Tensor>
      weight;  // [out] per tap, shaped to broadcast along the axis; none for nearest

  AxisResize(int64_t axis, const Taps& taps, int64_t length, int64_t rank,
             const at::TensorOptions& options, bool weighted)
      : axis(axis), length(length) {
    const auto out = static_cast<int64_t>(taps.index[0].size());
    if (length <= kLongestDense) {
      at::Tensor dense = at::zeros({out, length}, at::kDouble);
      auto m = dense.accessor<double, 2>();
      for (size_t k = 0; k < taps.index.size(); ++k) {
        for (int64_t r = 0; r < out; ++r) m[r][taps.index[k][r]] += taps.weight[k][r];
      }
      matrix = dense.to(options);
      return;
    }
    std::vector<int64_t> shape(rank, 1);
    shape[axis] = -1;
    for (size_t k = 0; k < taps.index.size(); ++k) {
      index.push_back(at::tensor(taps.index[k], at::kLong).to(options.device()));
      if (weighted)
        weight.push_back(at::tensor(taps.weight[k], at::kDouble).to(options).view(shape));
    }
  }

  at::Tensor apply(const at::Tensor& x) const {
    if (matrix.defined()) return at::matmul(x.movedim(axis, -1), matrix.t()).movedim(-1, axis);
    at::Tensor y;
    for (size_t k = 0; k < index.size(); ++k) {
      at::Tensor read = x.index_select(axis, index[k]);
      if (!weight.empty()) read = read * weight[k];
      y = k == 0 ? read : y + read;
    }
    return y;
  }

  // The transpose: each output's signal goes back to the positions it read, by their weights.
  at::Tensor transpose(const at::Tensor& g) const {
    if (matrix.defined()) return at::matmul(g.movedim(axis, -1), matrix).movedim(-1, axis);
    std::vector<int64_t> sizes = g.sizes().vec();
    sizes[axis] = length;
    at::Tensor gx = at::zeros(sizes, g.options());
    for (size_t k = 0; k < index.size(); ++k) {
      gx.index_add_(axis, index[k], weight.empty() ? g : g * weight[k]);
    }
    return gx;
  }
};

class Resize final : public Kernel, public LinearForm {
 public:
  explicit Resize(const NodeView& node) : label_(node.label()) {
    const bool upsample = node.node().op_type == "Upsample";
    const bool early = upsample || node.opset() < 11;  // Upsample and Resize-10
    const std::string mode = node.s("mode", "nearest");
    if (mode == "nearest") {
      how_.interpolation = Interpolation::Nearest;
    } else if (mode == "linear" || mode == "bilinear" || mode == "trilinear") {
      how_.interpolation = Interpolation::Linear;
    } else if (mode == "cubic" && !early) {
      how_.interpolation = Interpolation::Cubic;
    } else {
      node.invalid("unknown mode '" + mode + "'");
    }
    if (early) {  // what opset 11 spells asymmetric + floor
      how_.coordinate = asymmetric;
      how_.rounding = round_down;
    } else {
      how_.coordinate = coordinate(node, node.s("coordinate_transformation_mode", "half_pixel"));
      how_.rounding = rounding(node, node.s("nearest_mode", "round_prefer_floor"));
      how_.cubic_a = node.f("cubic_coeff_a", -0.75);
      how_.exclude_outside = node.i("exclude_outside", 0) != 0;
      if (node.i("antialias", 0) != 0 && how_.interpolation != Interpolation::Nearest) {
        node.unsupported("antialias=1 (a resampling filter widened when shrinking)");
      }
      axes_ = node.ints("axes", {});
      policy_ = node.s("keep_aspect_ratio_policy", "stretch");
      if (policy_ != "stretch" && policy_ != "not_larger" && policy_ != "not_smaller") {
        node.invalid("unknown keep_aspect_ratio_policy '" + policy_ + "'");
      }
    }
    if (upsample && node.opset() < 9) {
      scales_ = node.floats("scales", {});
      if (scales_.empty()) node.invalid("missing attribute 'scales'");
    } else {
      scales_input_ = early ? 1 : 2;
      sizes_input_ = early ? -1 : 3;
    }
    // A product with constant weights when the target sizes are constants: a linear form for the
    // relevance rules (its weights are >= 0 except cubic's, which the z-rule handles instead).
    constant_ = how_.interpolation != Interpolation::Cubic;
    for (const int input : {scales_input_, sizes_input_}) {
      if (input >= 0 && node.has_input(input) && !node.is_constant(input)) constant_ = false;
    }
    if (constant_ && scales_input_ >= 0) {
      if (node.has_input(scales_input_)) constant_scales_ = node.constant(scales_input_);
      if (sizes_input_ >= 0 && node.has_input(sizes_input_)) {
        constant_sizes_ = node.constant(sizes_input_);
      }
    }
  }

  Tensors forward(const Tensors& in) const override { return {resize(in[0], plan(in), false)}; }

  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (wanted[0] && !grad.empty() && grad[0].defined()) {
      result[0] = resize(grad[0], plan(in), true);
    }
    return result;
  }
  VjpReads vjp_reads() const override { return {true, false}; }

  const LinearForm* linear() const override { return constant_ ? this : nullptr; }
  at::Tensor apply(const at::Tensor& x, const at::Tensor&, const at::Tensor&) const override {
    return resize(x, plan(x, constant_scales_, constant_sizes_), false);
  }
  at::Tensor apply_transpose(const at::Tensor& signal, const at::Tensor& x,
                             const at::Tensor&) const override {
    return resize(signal, plan(x, constant_scales_, constant_sizes_), true);
  }

 private:
  static Coordinate coordinate(const NodeView& node, const std::string& name) {
    if (name == "half_pixel") return half_pixel;
    if (name == "pytorch_half_pixel") return pytorch_half_pixel;
    if (name == "half_pixel_symmetric") return half_pixel_symmetric;
    if (name == "align_corners") return align_corners;
    if (name == "asymmetric") return asymmetric;
    if (name == "tf_half_pixel_for_nn") return tf_half_pixel_for_nn;
    if (name == "tf_crop_and_resize")
      node.unsupported("coordinate_transformation_mode tf_crop_and_resize");
    node.invalid("unknown coordinate_transformation_mode '" + name + "'");
  }

  static Rounding rounding(const NodeView& node, const std::string& name) {
    if (name == "round_prefer_floor") return round_prefer_floor;
    if (name == "round_prefer_ceil") return round_prefer_ceil;
    if (name == "floor") return round_down;
    if (name == "ceil") return round_up;
    node.invalid("unknown nearest_mode '" + name + "'");
  }

  std::vector<AxisResize> plan(const Tensors& in) const {
    auto input = [&](int i) {
      return i >= 0 && static_cast<size_t>(i) < in.size() ? in[i] : at::Tensor();
    };
    return plan(in[0], input(scales_input_), input(sizes_input_));
  }

  // The maps of the axes that change, from the scales or the target sizes.
  std::vector<AxisResize> plan(const at::Tensor& x, const at::Tensor& scales_in,
                               const at::Tensor& sizes_in) const {
    const int64_t rank = x.dim();
    std::vector<int64_t> axes = axes_;
    if (axes.empty()) {
      for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    for (int64_t& a : axes) a = axis(a, rank);
    const bool has_scales = scales_in.defined() && scales_in.numel() > 0;
    const bool has_sizes = sizes_in.defined() && sizes_in.numel() > 0;
    if (has_scales == has_sizes && scales_.empty()) {
      throw ModelFormatError(label_ + ": give either scales or sizes");
    }
    const size_t count = has_sizes    ? sizes_in.numel()
                         : has_scales ? scales_in.numel()
                                      : scales_.size();
    if (count != axes.size()) {
      throw ModelFormatError(label_ + ": " + std::to_string(count) + " scales or sizes for " +
                             std::to_string(axes.size()) + " axes");
    }
    std::vector<double> scales(count);
    std::vector<int64_t> lengths(count);
    if (has_sizes) {
      const at::Tensor sizes = sizes_in.to(at::kCPU, at::kLong).contiguous();
      double chosen = 0;
      for (size_t k = 0; k < count; ++k) {
        lengths[k] = sizes.data_ptr<int64_t>()[k];
        // The batch rule (as Reshape's): sizes computed from the shape of a graph exported for
        // one image say 1 for the batch axis, which means the batch at run time.
        if (axes[k] == 0 && lengths[k] == 1) lengths[k] = x.size(0);
        const double ratio = static_cast<double>(lengths[k]) / static_cast<double>(x.size(axes[k]));
        chosen = k == 0                    ? ratio
                 : policy_ == "not_larger" ? std::min(chosen, ratio)
                                           : std::max(chosen, ratio);
        scales[k] = ratio;
      }
      if (policy_ != "stretch") {  // one scale for every axis, the output rounded to it
        for (size_t k = 0; k < count; ++k) {
          scales[k] = chosen;
          lengths[k] =
              static_cast<int64_t>(std::floor(chosen * static_cast<double>(x.size(axes[k])) + 0.5));
        }
      }
    } else {
      const at::Tensor given = has_scales ? scales_in.to(at::kCPU, at::kDouble).contiguous()
                                          : at::tensor(scales_, at::kDouble);
      for (size_t k = 0; k < count; ++k) {
        scales[k] = given.data_ptr<double>()[k];
        if (!std::isfinite(scales[k]) || scales[k] <= 0) {
          throw ModelFormatError(label_ + ": scale " + std::to_string(scales[k]) +
                                 " is not positive");
        }
        lengths[k] =
            static_cast<int64_t>(std::floor(static_cast<double>(x.size(axes[k])) * scales[k]));
      }
    }
    std::vector<int64_t> output = x.sizes().vec();
    for (size_t k = 0; k < count; ++k) {
      if (lengths[k] <= 0 || !std::isfinite(scales[k]) || scales[k] <= 0) {
        throw ModelFormatError(label_ + ": resizing axis " + std::to_string(axes[k]) +
                               " of length " + std::to_string(x.size(axes[k])) +
                               " leaves it empty");
      }
      output[axes[k]] = lengths[k];
    }
    check_output_size(label_, output);
    std::vector<AxisResize> plan;
    const auto options = x.options().dtype(x.is_floating_point() ? x.scalar_type() : at::kDouble);
    for (size_t k = 0; k < count; ++k) {
      // An axis kept as it is stays unchanged, as in the runtimes (read literally, the
      // tf_half_pixel_for_nn formula would shift the batch and channel axes by half a position).
      const int64_t in = x.size(axes[k]);
      if (lengths[k] == in && scales[k] == 1.0) continue;
      plan.emplace_back(axes[k], axis_taps(how_, in, lengths[k], scales[k]), in, x.dim(), options,
                        how_.interpolation != Interpolation::Nearest);
    }
    return plan;
  }

  static at::Tensor resize(const at::Tensor& x, const std::vector<AxisResize>& plan,
                           bool transpose) {
    at::Tensor y = x.is_floating_point() ? x : x.to(at::kDouble);
    // The transpose undoes the axes in reverse order (each is its own factor of a product).
    if (transpose) {
      for (auto a = plan.rbegin(); a != plan.rend(); ++a) y = a->transpose(y);
    } else {
      for (const auto& a : plan) y = a.apply(y);
    }
    y = y.contiguous();
    return x.is_floating_point() ? y : y.round().to(x.scalar_type());
  }

  std::string label_;
  Resampling how_;
  std::vector<double> scales_;  // Upsample-7's attribute
  int scales_input_ = -1, sizes_input_ = -1;
  std::vector<int64_t> axes_;
  std::string policy_ = "stretch";
  bool constant_ = false;
  at::Tensor constant_scales_, constant_sizes_;
};

}  // namespace

void register_resize_ops(Registry& registry) {
  // The output stays within the input's range for nearest and linear, not for cubic (its weights
  // overshoot): declared Any.
  for (const char* op : {"Resize", "Upsample"}) {
    registry.add(op, {OpKind::Linear, OutputRange::Any},
                 [](const NodeView& node) { return std::make_unique<Resize>(node); });
  }
}

}  // namespace whitebox::ops
