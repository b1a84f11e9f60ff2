#include <gtest/gtest.h>

#include <limits>

#include "ops_reference.hpp"

namespace whitebox::test {
namespace {

using Ints = std::vector<int64_t>;

// 2-D pooling geometry as ONNX states it; pads are [top, left, bottom, right].
struct Geometry {
  Ints kernel{3, 3}, strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  bool ceil = false;

  std::map<std::string, Attribute> attributes() const {
    return {{"kernel_shape", kernel}, {"strides", strides}, {"dilations", dilations},
            {"pads", pads}, {"ceil_mode", int64_t{ceil}}};
  }
  // Output size along spatial dim d (PyTorch's ceil rule: the last window starts in the input
  // or the begin padding).
  int64_t out(int64_t in, int d) const {
    const int64_t length = in + pads[d] + pads[d + 2];
    const int64_t extent = (kernel[d] - 1) * dilations[d] + 1;
    int64_t n = (length - extent) / strides[d] + 1;
    if (ceil && (length - extent) % strides[d] != 0) {
      ++n;
      if ((n - 1) * strides[d] >= in + pads[d]) --n;
    }
    return n;
  }
};

// Max over each window, one window at a time, on an input padded with -inf.
at::Tensor reference_max(const at::Tensor& x, const Geometry& g) {
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t oh = g.out(h, 0), ow = g.out(w, 1);
  const double inf = std::numeric_limits<double>::infinity();
  // Enough end padding for every window.
  const int64_t eh = (oh - 1) * g.strides[0] + (g.kernel[0] - 1) * g.dilations[0] + 1 - h - g.pads[0];
  const int64_t ew = (ow - 1) * g.strides[1] + (g.kernel[1] - 1) * g.dilations[1] + 1 - w - g.pads[1];
  const at::Tensor xp = at::constant_pad_nd(x, {g.pads[1], std::max(ew, g.pads[3]), g.pads[0],
                                                std::max(eh, g.pads[2])}, -inf);
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < oh; ++i) {
    std::vector<at::Tensor> cols;
    for (int64_t j = 0; j < ow; ++j) {
      const int64_t r = i * g.strides[0], c = j * g.strides[1];
      const at::Tensor window =
          xp.slice(2, r, r + (g.kernel[0] - 1) * g.dilations[0] + 1, g.dilations[0])
              .slice(3, c, c + (g.kernel[1] - 1) * g.dilations[1] + 1, g.dilations[1]);
      cols.push_back(window.amax({2, 3}));
    }
    rows.push_back(at::stack(cols, -1));
  }
  return at::stack(rows, -2);
}

// Average over each window: the sum of the input elements in it, divided by the number of
// positions that count (input positions, plus padding positions if count_include_pad; positions
// past the end padding, from ceil_mode, never count).
at::Tensor reference_average(const at::Tensor& x, const Geometry& g, bool include_pad) {
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t oh = g.out(h, 0), ow = g.out(w, 1);
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < oh; ++i) {
    std::vector<at::Tensor> cols;
    for (int64_t j = 0; j < ow; ++j) {
      // Window in input coordinates, clipped to the padded extent.
      const int64_t r0 = i * g.strides[0] - g.pads[0], c0 = j * g.strides[1] - g.pads[1];
      const int64_t r1 = std::min(r0 + g.kernel[0], h + g.pads[2]);
      const int64_t c1 = std::min(c0 + g.kernel[1], w + g.pads[3]);
      const int64_t ir0 = std::max<int64_t>(r0, 0), ir1 = std::min(r1, h);
      const int64_t ic0 = std::max<int64_t>(c0, 0), ic1 = std::min(c1, w);
      const int64_t count = include_pad ? (r1 - r0) * (c1 - c0) : (ir1 - ir0) * (ic1 - ic0);
      cols.push_back(x.slice(2, ir0, ir1).slice(3, ic0, ic1).sum({2, 3}) / double(count));
    }
    rows.push_back(at::stack(cols, -1));
  }
  return at::stack(rows, -2);
}

void expect_matches(const Model& model, const at::Tensor& x,
                    const std::function<at::Tensor(const at::Tensor&)>& reference) {
  auto [fwd, grad] = compare_with_reference(model, x, reference);
  EXPECT_LT(fwd, 1e-12);
  EXPECT_LT(grad, 1e-10);
}

TEST(OpsPooling, MaxPoolPaddingForms) {
  at::manual_seed(0);
  const std::vector<Ints> pads = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 0, 0, 2},
                                  {2, 2, 2, 2}};
  for (const Ints& p : pads) {
    for (int ceil = 0; ceil < 2; ++ceil) {
      for (int64_t dilation : {1, 2}) {
        for (int64_t stride : {1, 2}) {
          Geometry g;
          g.pads = p;
          g.ceil = ceil;
          g.dilations = {dilation, dilation};
          g.strides = {stride, stride};
          SCOPED_TRACE(testing::Message() << "pads " << c10::str(at::IntArrayRef(p)) << " ceil "
                                          << ceil << " dilation " << dilation << " stride "
                                          << stride);
          const at::Tensor x = at::randn({2, 3, 10, 9}, at::kDouble);
          Model model = one_node_model("MaxPool", {1, 3, 10, 9}, {}, g.attributes());
          expect_matches(model, x, [&](const at::Tensor& t) { return reference_max(t, g); });
        }
      }
    }
  }
}

TEST(OpsPooling, MaxPoolCeilModeOutputSize) {
  // 8 + 2 - 3 = 7 is not a multiple of 2: ceil gives 5 outputs, floor 4.
  Geometry g;
  g.strides = {2, 2};
  g.pads = {1, 1, 1, 1};
  g.ceil = true;
  Model model = one_node_model("MaxPool", {1, 1, 8, 8}, {}, g.attributes());
  const at::Tensor x = at::randn({1, 1, 8, 8}, at::kDouble);
  EXPECT_EQ(model.logits(x).sizes(), at::IntArrayRef({1, 1, 5, 5}));
}

TEST(OpsPooling, MaxPoolAutoPadSameUpper) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({1, 2, 7, 7}, at::kDouble);
  Model model = one_node_model("MaxPool", {1, 2, 7, 7}, {},
                               {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}},
                                {"auto_pad", std::string("SAME_UPPER")}});
  // out 4: total pad 3*2 + 2 - 7 = 1, all at the end.
  Geometry g;
  g.kernel = {2, 2};
  g.strides = {2, 2};
  g.pads = {0, 0, 1, 1};
  expect_matches(model, x, [&](const at::Tensor& t) { return reference_max(t, g); });
}

TEST(OpsPooling, MaxPool1d) {
  at::manual_seed(2);
  const at::Tensor x = at::randn({2, 3, 11}, at::kDouble);
  Model model = one_node_model("MaxPool", {1, 3, 11}, {},
                               {{"kernel_shape", Ints{3}}, {"strides", Ints{2}},
                                {"pads", Ints{0, 1}}});
  Geometry g;
  g.kernel = {1, 3};
  g.strides = {1, 2};
  g.pads = {0, 0, 0, 1};
  expect_matches(model, x, [&](const at::Tensor& t) {
    return reference_max(t.unsqueeze(2), g).squeeze(2);
  });
}

// A trace keeps the argmax that the forward found for the sweep (not inference); the VJP from
// it equals the VJP that pools again, for every padding form.
TEST(OpsPooling, MaxPoolTraceKeepsTheArgmaxForTheSweep) {
  at::manual_seed(3);
  for (const Ints& p : std::vector<Ints>{{0, 0, 0, 0}, {1, 0, 0, 2}}) {
    Geometry g;
    g.pads = p;
    g.strides = {2, 2};
    g.ceil = true;
    const Model model = one_node_model("MaxPool", {1, 3, 10, 9}, {}, g.attributes());
    const at::Tensor x = at::randn({2, 3, 10, 9}, at::kDouble);
    const Trace trace = model.forward(x);
    ASSERT_EQ(trace.saved(0).size(), 1u);
    EXPECT_EQ(trace.saved(0)[0].scalar_type(), at::kLong);
    TraceOptions lean;
    lean.lean = true;
    EXPECT_EQ(model.forward(x, lean).saved(0).size(), 1u);
    TraceOptions inference;
    inference.outputs_only = true;
    EXPECT_TRUE(model.forward(x, inference).saved(0).empty());

    const Node& node = model.graph().nodes[0];
    const at::Tensor y = trace[node.outputs[0]];
    const Tensors signal{at::randn_like(y)};
    const Tensors kept = kernel_of(model).vjp({x}, {y, trace.saved(0)[0]}, signal, {true});
    const Tensors pooled_again = kernel_of(model).vjp({x}, {y}, signal, {true});
    EXPECT_TRUE(kept[0].equal(pooled_again[0]));
  }
}

TEST(OpsPooling, MaxPoolIndicesOutputIsUnsupported) {
  Graph graph;
  graph.values = {Value{"x", {}, {1, 1, 4, 4}, -1}, Value{"y", {}, {}, -1},
                  Value{"i", {}, {}, -1}};
  graph.inputs = {0};
  Node node;
  node.name = "pool";
  node.op_type = "MaxPool";
  node.attributes = {{"kernel_shape", Ints{2, 2}}};
  node.inputs = {0};
  node.outputs = {1, 2};
  graph.outputs = {1};
  graph.nodes.push_back(node);
  graph.index_producers();
  EXPECT_THROW(Model::from_graph(graph), UnsupportedOperator);
}

TEST(OpsPooling, AveragePoolPaddingForms) {
  at::manual_seed(3);
  const std::vector<Ints> pads = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 0, 0, 2},
                                  {2, 2, 2, 2}};
  for (const Ints& p : pads) {
    for (int ceil = 0; ceil < 2; ++ceil) {
      for (int include = 0; include < 2; ++include) {
        for (int64_t stride : {1, 2, 3}) {
          Geometry g;
          g.pads = p;
          g.ceil = ceil;
          g.strides = {stride, stride};
          auto attributes = g.attributes();
          attributes.erase("dilations");
          attributes["count_include_pad"] = int64_t{include};
          SCOPED_TRACE(testing::Message() << "pads " << c10::str(at::IntArrayRef(p)) << " ceil "
                                          << ceil << " include_pad " << include << " stride "
                                          << stride);
          const at::Tensor x = at::randn({2, 3, 10, 9}, at::kDouble);
          Model model = one_node_model("AveragePool", {1, 3, 10, 9}, {}, attributes);
          expect_matches(model, x,
                         [&](const at::Tensor& t) { return reference_average(t, g, include); });
        }
      }
    }
  }
}

TEST(OpsPooling, AveragePoolAsymmetricPadsDivisor) {
  // 2x2 windows, pads bottom/right 1: the corner window holds one input element. Excluding
  // padding it averages to that element; including padding it is a quarter of it.
  const at::Tensor x = at::arange(1, 10, at::kDouble).reshape({1, 1, 3, 3});
  for (int include = 0; include < 2; ++include) {
    Model model = one_node_model("AveragePool", {1, 1, 3, 3}, {},
                                 {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}},
                                  {"pads", Ints{0, 0, 1, 1}},
                                  {"count_include_pad", int64_t{include}}});
    const at::Tensor y = model.logits(x);
    ASSERT_EQ(y.sizes(), at::IntArrayRef({1, 1, 2, 2}));
    EXPECT_DOUBLE_EQ(y[0][0][1][1].item<double>(), include ? 9.0 / 4 : 9.0);
    EXPECT_DOUBLE_EQ(y[0][0][0][1].item<double>(), include ? (3.0 + 6.0) / 4 : (3.0 + 6.0) / 2);
  }
}

TEST(OpsPooling, AveragePoolSameLowerFloat32) {
  at::manual_seed(4);
  const at::Tensor x = at::randn({1, 2, 6, 5});
  Model model = one_node_model("AveragePool", {1, 2, 6, 5}, {},
                               {{"kernel_shape", Ints{3, 2}},
                                {"auto_pad", std::string("SAME_LOWER")}});
  // Stride 1: total pads 2 (rows) and 1 (cols); SAME_LOWER puts the odd one at the beginning.
  Geometry g;
  g.kernel = {3, 2};
  g.pads = {1, 1, 1, 0};
  auto [fwd, grad] = compare_with_reference(
      model, x, [&](const at::Tensor& t) { return reference_average(t, g, false); });
  EXPECT_LT(fwd, 1e-6);
  EXPECT_LT(grad, 1e-6);
}

TEST(OpsPooling, GlobalPools) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({2, 3, 5, 4}, at::kDouble);
  Model average = one_node_model("GlobalAveragePool", {1, 3, 5, 4});
  expect_matches(average, x, [](const at::Tensor& t) {
    return (t.sum(3, true).sum(2, true)) / 20.0;
  });
  Model maximum = one_node_model("GlobalMaxPool", {1, 3, 5, 4});
  expect_matches(maximum, x, [](const at::Tensor& t) {
    return std::get<0>(t.flatten(2).max(2, true)).unsqueeze(-1);
  });
}

TEST(OpsPooling, ParametersOutOfRangeAreInvalid) {
  EXPECT_THROW(one_node_model("MaxPool", {1, 1, 4, 4}, {},
                              {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2}}}),
               ModelFormatError);
  EXPECT_THROW(one_node_model("AveragePool", {1, 1, 4, 4}, {},
                              {{"kernel_shape", Ints{2, 2}}, {"dilations", Ints{2, 2}}}),
               UnsupportedOperator);
}

}  // namespace
}  // namespace whitebox::test
