// Shape computations and data movement: Shape, Size, Reshape, Flatten, Transpose, Squeeze,
// Unsqueeze, Concat, Split, Slice, Gather, Expand, Cast, Identity, Dropout, Pad,
// ConstantOfShape, Tile. Every VJP is closed-form: the signal is moved back the way the data came.
//
// Shape data (the results of Shape, and the integer inputs read from them) lives on the CPU as
// int64, whatever device the model runs on.
#include <ATen/ExpandUtils.h>

#include <algorithm>
#include <numeric>

#include "ops/kernel.hpp"

namespace whitebox::ops {
namespace {

bool wants(const std::vector<bool>& wanted, const Tensors& in, size_t i) {
  return i < wanted.size() && wanted[i] && i < in.size() && in[i].defined() &&
         in[i].is_floating_point();
}

bool has_signal(const Tensors& grad) { return !grad.empty() && grad[0].defined(); }

// The values of an integer tensor read at run time (a shape computed by the graph).
std::vector<int64_t> ints_of(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// A list of integers given by an input that is usually constant (read once at build time) and
// otherwise read at run time.
class IntsInput {
 public:
  IntsInput() = default;
  IntsInput(const NodeView& node, size_t input) : index_(input) {
    if (!node.has_input(input)) node.invalid("missing input " + std::to_string(input));
    constant_ = node.is_constant(input);
    if (constant_) values_ = node.constant_ints(input);
  }
  static IntsInput fixed(std::vector<int64_t> values) {
    IntsInput result;
    result.constant_ = true;
    result.values_ = std::move(values);
    return result;
  }
  bool constant() const { return constant_; }
  std::vector<int64_t> get(const Tensors& in) const {
    return constant_ ? values_ : ints_of(in.at(index_));
  }

 private:
  size_t index_ = 0;
  bool constant_ = false;
  std::vector<int64_t> values_;
};

Tensors no_signal(const Tensors& in, const Tensors&, const Tensors&, const std::vector<bool>&) {
  return Tensors(in.size());
}

// The VJP of every operator that only rearranges the elements of input 0 into a new shape.
Tensors reshape_back(const Tensors& in, const Tensors&, const Tensors& grad,
                     const std::vector<bool>& wanted) {
  Tensors result(in.size());
  if (wants(wanted, in, 0) && has_signal(grad)) result[0] = grad[0].reshape(in[0].sizes());
  return result;
}

int64_t product(at::IntArrayRef sizes, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= sizes[i];
  return p;
}

// ---- Shape, Size ------------------------------------------------------------------------------

std::unique_ptr<Kernel> make_shape(const NodeView& node) {
  const int64_t start = node.i("start", 0);
  const bool has_end = node.has("end");
  const int64_t end = node.i("end", 0);
  // Only sizes are read, so this works on the meta tensors constant folding passes in.
  return make_kernel(
      [=](const Tensors& in) {
        const auto sizes = in[0].sizes();
        const int64_t rank = static_cast<int64_t>(sizes.size());
        auto clamp = [rank](int64_t i) { return std::clamp(i < 0 ? i + rank : i, int64_t{0}, rank); };
        const int64_t b = clamp(start), e = has_end ? clamp(end) : rank;
        std::vector<int64_t> dims(sizes.begin() + b, sizes.begin() + std::max(b, e));
        return Tensors{at::tensor(dims, at::TensorOptions().dtype(at::kLong))};
      },
      no_signal);
}

// ---- Reshape, Flatten, Transpose, Squeeze, Unsqueeze -----------------------------------------

class Reshape final : public Kernel {
 public:
  explicit Reshape(const NodeView& node) : allow_zero_(node.i("allowzero", 0) != 0) {
    shape_ = node.opset() < 5 ? IntsInput::fixed(node.ints("shape")) : IntsInput(node, 1);
    // The batch rule. Models are exported with batch 1, and the shape subgraphs that compute
    // reshape targets (x.view(x.size(0), -1) and the like) are folded at load with batch 1. A
    // constant target starting with 1 applied to an input whose dim 0 was 1 at load time then
    // means "the batch": at run time it takes the input's dim 0, so batches of N > 1 work.
    if (shape_.constant()) {
      const auto target = shape_.get({});
      const auto& loaded = node.static_shape(0);
      batch_rule_ = !target.empty() && target[0] == 1 && (loaded.empty() || loaded[0] == 1);
    }
  }

  Tensors forward(const Tensors& in) const override {
    const at::Tensor& x = in[0];
    std::vector<int64_t> shape = shape_.get(in);
    if (batch_rule_ && x.dim() > 0 && x.size(0) != 1) shape[0] = x.size(0);
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 0 && !allow_zero_) {
        if (static_cast<int64_t>(i) >= x.dim()) {
          throw InputError("Reshape: target dim " + std::to_string(i) + " copies a missing dim");
        }
        shape[i] = x.size(static_cast<int64_t>(i));
      }
    }
    return {x.reshape(shape)};  // -1 is inferred by reshape itself
  }

  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    return reshape_back(in, out, grad, wanted);
  }

 private:
  IntsInput shape_;
  bool allow_zero_;
  bool batch_rule_ = false;
};

std::unique_ptr<Kernel> make_flatten(const NodeView& node) {
  const int64_t axis = node.i("axis", 1);
  return make_kernel(
      [axis](const Tensors& in) {
        const auto sizes = in[0].sizes();
        const int64_t rank = static_cast<int64_t>(sizes.size());
        const int64_t a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a > rank) throw InputError("Flatten: axis out of range");
        return Tensors{in[0].reshape({product(sizes, 0, a), product(sizes, a, rank)})};
      },
      reshape_back);
}

std::unique_ptr<Kernel> make_transpose(const NodeView& node) {
  const std::vector<int64_t> attribute = node.ints("perm", {});
  // The permutation for a rank (ONNX default: reverse the dims).
  auto perm = [attribute](int64_t rank) {
    std::vector<int64_t> p = attribute;
    if (p.empty()) {
      for (int64_t d = rank - 1; d >= 0; --d) p.push_back(d);
    }
    return p;
  };
  return make_kernel(
      [perm](const Tensors& in) { return Tensors{in[0].permute(perm(in[0].dim()))}; },
      [perm](const Tensors& in, const Tensors&, const Tensors& grad,
             const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (!wants(wanted, in, 0) || !has_signal(grad)) return result;
        const auto p = perm(in[0].dim());
        std::vector<int64_t> inverse(p.size());
        for (size_t i = 0; i < p.size(); ++i) inverse.at(axis(p[i], in[0].dim())) = static_cast<int64_t>(i);
        result[0] = grad[0].permute(inverse);
        return result;
      });
}

// Squeeze / Unsqueeze axes: an attribute before opset 13, a constant input from 13.
std::vector<int64_t> axes_of(const NodeView& node, bool required) {
  if (node.opset() < 13) {
    return required ? node.ints("axes") : node.ints("axes", {});
  }
  if (!node.has_input(1)) {
    if (required) node.invalid("missing axes input");
    return {};
  }
  return node.constant_ints(1);
}

std::unique_ptr<Kernel> make_squeeze(const NodeView& node) {
  const std::vector<int64_t> axes = axes_of(node, false);
  return make_kernel(
      [axes](const Tensors& in) {
        const auto sizes = in[0].sizes();
        const int64_t rank = static_cast<int64_t>(sizes.size());
        std::vector<bool> drop(rank, false);
        for (int64_t a : axes) {
          const int64_t d = axis(a, rank);
          if (sizes[d] != 1) {
            throw InputError("Squeeze: dim " + std::to_string(d) + " of " + c10::str(sizes) +
                             " is not 1");
          }
          drop[d] = true;
        }
        std::vector<int64_t> shape;
        for (int64_t d = 0; d < rank; ++d) {
          if (!(axes.empty() ? sizes[d] == 1 : drop[d])) shape.push_back(sizes[d]);
        }
        return Tensors{in[0].reshape(shape)};
      },
      reshape_back);
}

std::unique_ptr<Kernel> make_unsqueeze(const NodeView& node) {
  const std::vector<int64_t> axes = axes_of(node, true);
  return make_kernel(
      [axes](const Tensors& in) {
        const auto sizes = in[0].sizes();
        const int64_t rank = static_cast<int64_t>(sizes.size() + axes.size());
        std::vector<bool> insert(rank, false);
        for (int64_t a : axes) {
          const int64_t d = axis(a, rank);
          if (insert[d]) throw ModelFormatError("Unsqueeze: repeated axis");
          insert[d] = true;
        }
        std::vector<int64_t> shape;
        size_t next = 0;
        for (int64_t d = 0; d < rank; ++d) shape.push_back(insert[d] ? 1 : sizes[next++]);
        return Tensors{in[0].reshape(shape)};
      },
      reshape_back);
}

// ---- Concat, Split ----------------------------------------------------------------------------

std::unique_ptr<Kernel> make_concat(const NodeView& node) {
  const int64_t attribute = node.i("axis");
  return make_kernel(
      [attribute](const Tensors& in) {
        return Tensors{at::cat(in, axis(attribute, in.at(0).dim()))};
      },
      [attribute](const Tensors& in, const Tensors&, const Tensors& grad,
                  const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (!has_signal(grad)) return result;
        const int64_t a = axis(attribute, in[0].dim());
        int64_t offset = 0;
        for (size_t i = 0; i < in.size(); ++i) {
          // Legacy empty 1-D inputs are skipped by cat and take no part.
          const bool skipped = in[i].dim() == 1 && in[i].numel() == 0 && in[0].dim() != 1;
          const int64_t size = skipped ? 0 : in[i].size(a);
          if (wants(wanted, in, i) && !skipped) result[i] = grad[0].narrow(a, offset, size);
          offset += size;
        }
        return result;
      });
}

class Split final : public Kernel {
 public:
  explicit Split(const NodeView& node)
      : axis_(node.i("axis", 0)), outputs_(static_cast<int64_t>(node.node().outputs.size())) {
    if (node.opset() < 13) {
      sizes_ = node.ints("split", {});
    } else if (node.has_input(1)) {
      sizes_ = node.constant_ints(1);
    }
    if (node.opset() >= 18 && node.has("num_outputs") && node.i("num_outputs") != outputs_) {
      node.invalid("num_outputs disagrees with the number of outputs");
    }
    if (!sizes_.empty() && static_cast<int64_t>(sizes_.size()) != outputs_) {
      node.invalid("split has " + std::to_string(sizes_.size()) + " sizes for " +
                   std::to_string(outputs_) + " outputs");
    }
    if (outputs_ < 1) node.invalid("Split needs outputs");
  }

  Tensors forward(const Tensors& in) const override {
    const int64_t a = axis(axis_, in[0].dim());
    return at::split_with_sizes(in[0], sizes(in[0].size(a)), a);
  }

  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!wants(wanted, in, 0)) return result;
    const int64_t a = axis(axis_, in[0].dim());
    const auto parts = sizes(in[0].size(a));
    Tensors pieces;
    for (size_t o = 0; o < parts.size(); ++o) {
      if (o < grad.size() && grad[o].defined()) {
        pieces.push_back(grad[o]);
      } else {  // an output without signal contributes zeros
        auto shape = in[0].sizes().vec();
        shape[a] = parts[o];
        pieces.push_back(at::zeros(shape, in[0].options()));
      }
    }
    result[0] = at::cat(pieces, a);
    return result;
  }

 private:
  // Without explicit sizes: equal parts, the last one smaller if need be (opset 18).
  std::vector<int64_t> sizes(int64_t length) const {
    if (!sizes_.empty()) return sizes_;
    const int64_t part = (length + outputs_ - 1) / outputs_;
    std::vector<int64_t> result(outputs_, part);
    result.back() = length - part * (outputs_ - 1);
    if (result.back() < 0) throw InputError("Split: cannot split " + std::to_string(length) +
                                            " into " + std::to_string(outputs_) + " parts");
    return result;
  }

  int64_t axis_, outputs_;
  std::vector<int64_t> sizes_;
};

// ---- Slice, Gather ----------------------------------------------------------------------------

class Slice final : public Kernel {
 public:
  explicit Slice(const NodeView& node) {
    if (node.opset() < 10) {
      starts_ = node.ints("starts");
      ends_ = node.ints("ends");
      axes_ = node.ints("axes", {});
    } else {
      starts_ = node.constant_ints(1);
      ends_ = node.constant_ints(2);
      if (node.has_input(3)) axes_ = node.constant_ints(3);
      if (node.has_input(4)) steps_ = node.constant_ints(4);
    }
    if (axes_.empty()) {
      axes_.resize(starts_.size());
      std::iota(axes_.begin(), axes_.end(), 0);
    }
    if (steps_.empty()) steps_.assign(starts_.size(), 1);
    if (ends_.size() != starts_.size() || axes_.size() != starts_.size() ||
        steps_.size() != starts_.size()) {
      node.invalid("starts, ends, axes and steps differ in length");
    }
    for (int64_t s : steps_) {
      if (s == 0) node.invalid("a step is 0");
    }
  }

  Tensors forward(const Tensors& in) const override {
    std::vector<int64_t> flips;
    const at::Tensor view = sliced(in[0], flips);
    return {flips.empty() ? view : view.flip(flips)};
  }

  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!wants(wanted, in, 0) || !has_signal(grad)) return result;
    at::Tensor signal = at::zeros_like(in[0], at::MemoryFormat::Contiguous);
    std::vector<int64_t> flips;
    sliced(signal, flips).copy_(flips.empty() ? grad[0] : grad[0].flip(flips));
    result[0] = signal;
    return result;
  }

 private:
  // The view of `x` the slice selects, in increasing index order; the dims a negative step
  // reverses are added to `flips`.
  at::Tensor sliced(const at::Tensor& x, std::vector<int64_t>& flips) const {
    at::Tensor view = x;
    for (size_t i = 0; i < starts_.size(); ++i) {
      const int64_t a = axis(axes_[i], x.dim());
      const int64_t dim = x.size(a), step = steps_[i];
      int64_t start = starts_[i] < 0 ? starts_[i] + dim : starts_[i];
      int64_t end = ends_[i] < 0 ? ends_[i] + dim : ends_[i];  // INT64_MAX stays huge
      if (step > 0) {
        start = std::clamp<int64_t>(start, 0, dim);
        end = std::clamp<int64_t>(end, 0, dim);
        const int64_t count = end > start ? (end - start + step - 1) / step : 0;
        view = view.slice(a, start, count > 0 ? start + (count - 1) * step + 1 : start, step);
      } else {
        start = std::clamp<int64_t>(start, 0, dim - 1);
        end = std::clamp<int64_t>(end, -1, dim - 1);
        const int64_t count = start > end ? (start - end - step - 1) / -step : 0;
        const int64_t first = start - (count - 1) * -step;
        view = count > 0 ? view.slice(a, first, start + 1, -step) : view.slice(a, 0, 0);
        flips.push_back(a);
      }
    }
    return view;
  }

  std::vector<int64_t> starts_, ends_, axes_, steps_;
};

class Gather final : public Kernel {
 public:
  explicit Gather(const NodeView& node) : axis_(node.i("axis", 0)) {
    if (!node.is_constant(1)) node.unsupported("indices computed at run time");
    indices_ = node.constant_ints(1);
    indices_shape_ = node.constant(1).sizes().vec();
  }

  Tensors forward(const Tensors& in) const override {
    const int64_t a = axis(axis_, in[0].dim());
    const auto sizes = in[0].sizes();
    std::vector<int64_t> shape(sizes.begin(), sizes.begin() + a);
    shape.insert(shape.end(), indices_shape_.begin(), indices_shape_.end());
    shape.insert(shape.end(), sizes.begin() + a + 1, sizes.end());
    return {in[0].index_select(a, index(in[0], a)).reshape(shape)};
  }

  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!wants(wanted, in, 0) || !has_signal(grad)) return result;
    const int64_t a = axis(axis_, in[0].dim());
    auto shape = in[0].sizes().vec();
    shape[a] = static_cast<int64_t>(indices_.size());
    // Repeated indices accumulate.
    result[0] = at::zeros_like(in[0], at::MemoryFormat::Contiguous)
                    .index_add_(a, index(in[0], a), grad[0].reshape(shape));
    return result;
  }

 private:
  at::Tensor index(const at::Tensor& x, int64_t a) const {
    const int64_t dim = x.size(a);
    std::vector<int64_t> index = indices_;
    for (auto& i : index) {
      if (i < -dim || i >= dim) {
        throw InputError("Gather: index " + std::to_string(i) + " out of range for size " +
                         std::to_string(dim));
      }
      if (i < 0) i += dim;
    }
    return at::tensor(index, at::TensorOptions().dtype(at::kLong)).to(x.device());
  }

  int64_t axis_;
  std::vector<int64_t> indices_, indices_shape_;
};

// ---- Expand, Tile -----------------------------------------------------------------------------

std::unique_ptr<Kernel> make_expand(const NodeView& node) {
  const IntsInput shape(node, 1);
  // Broadcasting is bidirectional, so a folded target of batch 1 already keeps an input's batch
  // of N: no batch rule is needed here.
  return make_kernel(
      [shape, label = node.label()](const Tensors& in) {
        const auto sizes = at::infer_size(in[0].sizes(), shape.get(in));
        check_output_size(label, sizes);  // a view, but the next operator may copy it
        return Tensors{in[0].expand(sizes)};
      },
      [](const Tensors& in, const Tensors&, const Tensors& grad, const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (wants(wanted, in, 0) && has_signal(grad)) {
          result[0] = unbroadcast(grad[0], in[0].sizes());
        }
        return result;
      });
}

std::unique_ptr<Kernel> make_tile(const NodeView& node) {
  const IntsInput repeats(node, 1);
  return make_kernel(
      [repeats, label = node.label()](const Tensors& in) {
        const auto r = repeats.get(in);
        if (static_cast<int64_t>(r.size()) != in[0].dim()) {
          throw InputError(label + ": repeats do not match the input's rank");
        }
        std::vector<int64_t> sizes;
        for (size_t d = 0; d < r.size(); ++d) {
          int64_t size = 0;
          if (r[d] < 0 || __builtin_mul_overflow(in[0].size(d), r[d], &size)) size = -1;
          sizes.push_back(size);
        }
        check_output_size(label, sizes);
        return Tensors{in[0].repeat(r)};
      },
      [repeats](const Tensors& in, const Tensors&, const Tensors& grad,
                const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (!wants(wanted, in, 0) || !has_signal(grad)) return result;
        // View the output as [r0, d0, r1, d1, ...] and sum over the repeats.
        const auto r = repeats.get(in);
        std::vector<int64_t> shape, repeat_dims;
        for (int64_t d = 0; d < in[0].dim(); ++d) {
          repeat_dims.push_back(static_cast<int64_t>(shape.size()));
          shape.push_back(r[d]);
          shape.push_back(in[0].size(d));
        }
        result[0] = repeat_dims.empty() ? grad[0]
                                        : grad[0].reshape(shape).sum(repeat_dims).reshape(
                                              in[0].sizes());
        return result;
      });
}

// ---- Cast, Identity, Dropout ------------------------------------------------------------------

at::ScalarType onnx_type(const NodeView& node, int64_t type) {
  switch (type) {
    case 1: return at::kFloat;
    case 2: return at::kByte;
    case 3: return at::kChar;
    case 5: return at::kShort;
    case 6: return at::kInt;
    case 7: return at::kLong;
    case 9: return at::kBool;
    case 10: return at::kHalf;
    case 11: return at::kDouble;
    case 16: return at::kBFloat16;
    default: node.unsupported("cast to ONNX type " + std::to_string(type));
  }
}

std::unique_ptr<Kernel> make_cast(const NodeView& node) {
  const at::ScalarType to = onnx_type(node, node.i("to"));
  return make_kernel(
      [to](const Tensors& in) {
        // A cast between floating types keeps the input's type: the engine computes in the
        // model's type (Model::to(kDouble) makes a float64 model), and a Cast(to=FLOAT) the
        // exporter wrote must not pull it back to float32.
        if (at::isFloatingType(to) && in[0].is_floating_point()) return Tensors{in[0]};
        return Tensors{in[0].to(to)};
      },
      [](const Tensors& in, const Tensors& out, const Tensors& grad,
         const std::vector<bool>& wanted) {
        Tensors result(in.size());
        if (wants(wanted, in, 0) && has_signal(grad) && out[0].is_floating_point()) {
          result[0] = grad[0].to(in[0].scalar_type());
        }
        return result;
      });
}

Tensors pass_through(const Tensors& in, const Tensors&, const Tensors& grad,
                     const std::vector<bool>& wanted) {
  Tensors result(in.size());
  if (wants(wanted, in, 0) && has_signal(grad)) result[0] = grad[0];
  return result;
}

// Dropout at inference is the identity; its optional mask output is all true.
std::unique_ptr<Kernel> make_dropout(const NodeView& node) {
  const bool mask = node.node().outputs.size() > 1 && node.node().outputs[1] != kNoValue;
  return make_kernel(
      [mask](const Tensors& in) {
        if (!mask) return Tensors{in[0]};
        return Tensors{in[0], at::ones_like(in[0], at::TensorOptions().dtype(at::kBool))};
      },
      pass_through);
}

// ---- Pad, ConstantOfShape ---------------------------------------------------------------------

class Pad final : public Kernel {
 public:
  explicit Pad(const NodeView& node) : mode_(node.s("mode", "constant")), label_(node.label()) {
    if (mode_ != "constant" && mode_ != "reflect" && mode_ != "edge") {
      node.unsupported("mode '" + mode_ + "'");
    }
    if (node.opset() < 11) {
      pads_ = IntsInput::fixed(node.opset() < 2 ? node.ints("paddings") : node.ints("pads"));
      value_ = node.f("value", 0.0);
    } else {
      pads_ = IntsInput(node, 1);
      if (node.has_input(2)) value_ = node.constant_scalar(2);
      if (node.has_input(3)) axes_ = node.constant_ints(3);
    }
  }

  Tensors forward(const Tensors& in) const override {
    const auto pads = torch_pads(in);
    std::vector<int64_t> sizes = in[0].sizes().vec();  // torch's pads run from the last axis
    for (size_t i = 0; i < pads.size() / 2 && i < sizes.size(); ++i) {
      int64_t& size = sizes[sizes.size() - 1 - i];
      if (__builtin_add_overflow(size, pads[2 * i], &size) ||
          __builtin_add_overflow(size, pads[2 * i + 1], &size)) {
        size = -1;  // refused below
      }
    }
    check_output_size(label_, sizes);
    if (mode_ == "constant") return {at::constant_pad_nd(in[0], pads, value_)};
    const at::Tensor x = lift(in[0], pads.size() / 2);
    const int64_t k = static_cast<int64_t>(pads.size() / 2);
    at::Tensor y;
    if (mode_ == "reflect") {
      y = k == 1 ? at::reflection_pad1d(x, pads)
                 : k == 2 ? at::reflection_pad2d(x, pads) : at::reflection_pad3d(x, pads);
    } else {
      y = k == 1 ? at::replication_pad1d(x, pads)
                 : k == 2 ? at::replication_pad2d(x, pads) : at::replication_pad3d(x, pads);
    }
    return {lower(y, in[0], k)};
  }

  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& grad,
              const std::vector<bool>& wanted) const override {
    Tensors result(in.size());
    if (!wants(wanted, in, 0) || !has_signal(grad)) return result;
    auto pads = torch_pads(in);
    if (mode_ == "constant") {
      for (auto& p : pads) p = -p;
      result[0] = at::constant_pad_nd(grad[0], pads, 0.0);
      return result;
    }
    const int64_t k = static_cast<int64_t>(pads.size() / 2);
    const at::Tensor x = lift(in[0], k);
    const at::Tensor g = lift(grad[0], k);
    at::Tensor gx;
    if (mode_ == "reflect") {
      gx = k == 1   ? at::reflection_pad1d_backward(g, x, pads)
           : k == 2 ? at::reflection_pad2d_backward(g, x, pads)
                    : at::reflection_pad3d_backward(g, x, pads);
    } else {
      gx = k == 1   ? at::replication_pad1d_backward(g, x, pads)
           : k == 2 ? at::replication_pad2d_backward(g, x, pads)
                    : at::replication_pad3d_backward(g, x, pads);
    }
    result[0] = gx.reshape(in[0].sizes());
    return result;
  }

 private:
  // ONNX pads [b0, b1, ..., e0, e1, ...] as ATen's (last dim begin, last dim end, ...), without
  // the leading dims that are not padded; for reflect/edge at least one dim and at most three.
  std::vector<int64_t> torch_pads(const Tensors& in) const {
    const int64_t rank = in[0].dim();
    const auto onnx = pads_.get(in);
    std::vector<int64_t> axes = axes_;
    if (axes.empty()) {
      axes.resize(rank);
      std::iota(axes.begin(), axes.end(), 0);
    }
    if (onnx.size() != 2 * axes.size()) throw InputError("Pad: pads do not match the input's rank");
    std::vector<int64_t> begin(rank, 0), end(rank, 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      const int64_t d = axis(axes[i], rank);
      begin[d] = onnx[i];
      end[d] = onnx[i + axes.size()];
    }
    int64_t first = rank;  // the first padded dim
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (begin[d] != 0 || end[d] != 0) first = d;
    }
    if (mode_ != "constant") {
      first = std::min(first, rank - 1);
      if (rank - first > 3) throw InputError("Pad: " + mode_ + " padding of more than 3 dims");
      for (int64_t d = first; d < rank; ++d) {
        if (begin[d] < 0 || end[d] < 0) throw InputError("Pad: negative " + mode_ + " padding");
      }
    }
    std::vector<int64_t> pads;
    for (int64_t d = rank - 1; d >= first; --d) {
      pads.push_back(begin[d]);
      pads.push_back(end[d]);
    }
    return pads;
  }

  // For ATen's reflection/replication: the k padded dims behind one leading dim.
  static at::Tensor lift(const at::Tensor& x, size_t k) {
    auto sizes = x.sizes();
    std::vector<int64_t> shape{product(sizes, 0, sizes.size() - k)};
    shape.insert(shape.end(), sizes.end() - k, sizes.end());
    return x.reshape(shape);
  }
  static at::Tensor lower(const at::Tensor& y, const at::Tensor& x, int64_t k) {
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - k);
    shape.insert(shape.end(), y.sizes().end() - k, y.sizes().end());
    return y.reshape(shape);
  }

  std::string mode_;
  IntsInput pads_;
  double value_ = 0.0;
  std::vector<int64_t> axes_;
  std::string label_;
};

std::unique_ptr<Kernel> make_constant_of_shape(const NodeView& node) {
  at::ScalarType type = at::kFloat;
  at::Scalar value = 0.0;
  if (node.has("value")) {
    const at::Tensor t = node.tensor("value");
    if (t.numel() != 1) node.invalid("value must hold one element");
    type = t.scalar_type();
    value = t.to(at::kCPU).reshape({}).item();
  }
  const IntsInput shape(node, 0);
  return make_kernel(
      [shape, type, value, label = node.label()](const Tensors& in) {
        const auto sizes = shape.get(in);
        check_output_size(label, sizes);
        return Tensors{at::full(sizes, value, at::TensorOptions().dtype(type))};
      },
      no_signal);
}

}  // namespace

void register_shape_ops(Registry& registry) {
  registry.add("Shape", {OpKind::ShapeOnly}, make_shape);
  registry.add("Size", {OpKind::ShapeOnly}, [](const NodeView&) {
    return make_kernel(
        [](const Tensors& in) { return Tensors{at::scalar_tensor(in[0].numel(), at::kLong)}; },
        no_signal);
  });
  registry.add("Reshape", {OpKind::Reshape, OutputRange::OfInput},
               [](const NodeView& node) { return std::make_unique<Reshape>(node); });
  registry.add("Flatten", {OpKind::Reshape, OutputRange::OfInput}, make_flatten);
  registry.add("Transpose", {OpKind::Routing, OutputRange::OfInput}, make_transpose);
  registry.add("Squeeze", {OpKind::Reshape, OutputRange::OfInput}, make_squeeze);
  registry.add("Unsqueeze", {OpKind::Reshape, OutputRange::OfInput}, make_unsqueeze);
  registry.add("Concat", {OpKind::Routing}, make_concat);
  registry.add("Split", {OpKind::Routing, OutputRange::OfInput},
               [](const NodeView& node) { return std::make_unique<Split>(node); });
  registry.add("Slice", {OpKind::Routing, OutputRange::OfInput},
               [](const NodeView& node) { return std::make_unique<Slice>(node); });
  registry.add("Gather", {OpKind::Routing},
               [](const NodeView& node) { return std::make_unique<Gather>(node); });
  registry.add("Expand", {OpKind::Routing, OutputRange::OfInput}, make_expand);
  registry.add("Tile", {OpKind::Routing, OutputRange::OfInput}, make_tile);
  registry.add("Cast", {OpKind::Reshape}, make_cast);
  registry.add("Identity", {OpKind::Reshape, OutputRange::OfInput}, [](const NodeView&) {
    return make_kernel([](const Tensors& in) { return Tensors{in[0]}; }, pass_through);
  });
  registry.add("Dropout", {OpKind::Reshape, OutputRange::OfInput}, make_dropout);
  registry.add("Pad", {OpKind::Routing},
               [](const NodeView& node) { return std::make_unique<Pad>(node); });
  registry.add("ConstantOfShape", {OpKind::ShapeOnly}, make_constant_of_shape);
}

}  // namespace whitebox::ops
