#include <gtest/gtest.h>

#include <limits>

#include "canonicalize/canonicalize.hpp"
#include "ops_reference.hpp"

namespace whitebox::test {
namespace {

using Ints = std::vector<int64_t>;

at::Tensor ints(const Ints& values) { return at::tensor(values, at::TensorOptions().dtype(at::kLong)); }

Ints values_of(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return Ints(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

void expect_matches(const Model& model, const at::Tensor& x,
                    const std::function<at::Tensor(const at::Tensor&)>& reference) {
  auto [fwd, grad] = compare_with_reference(model, x, reference);
  EXPECT_EQ(fwd, 0.0);
  EXPECT_LT(grad, 1e-12);
}

// x -> Shape -> Gather(0) -> Concat(with [-1]) -> Reshape(x, .): x.view(x.size(0), -1).
Graph flatten_by_shape_graph(const Ints& input_shape) {
  Graph graph;
  graph.opset = 13;
  auto value = [&](const std::string& name, at::Tensor constant = {}) {
    graph.values.push_back(Value{name, constant, constant.defined() ? constant.sizes().vec() : Ints{}, -1});
    return static_cast<ValueId>(graph.values.size() - 1);
  };
  const ValueId x = value("x");
  graph.values[x].shape = input_shape;
  graph.inputs = {x};
  const ValueId shape = value("shape"), index = value("index", ints({0})), batch = value("batch");
  const ValueId rest = value("rest", ints({-1})), target = value("target"), y = value("y");
  auto node = [&](const std::string& op, std::vector<ValueId> in, ValueId out,
                  std::map<std::string, Attribute> attributes = {}) {
    graph.nodes.push_back(Node{op, op, std::move(in), {out}, std::move(attributes)});
  };
  node("Shape", {x}, shape);
  node("Gather", {shape, index}, batch);
  node("Concat", {batch, rest}, target, {{"axis", int64_t{0}}});
  node("Reshape", {x, target}, y);
  graph.outputs = {y};
  graph.index_producers();
  return graph;
}

TEST(OpsShape, ShapeAndSizeWorkOnMetaTensors) {
  const at::Tensor meta = at::empty({2, 3, 4, 5}, at::TensorOptions().device(at::kMeta));
  Model model = one_node_model("Shape", {2, 3, 4, 5});
  at::Tensor shape = kernel_of(model).forward({meta}).at(0);
  EXPECT_TRUE(shape.device().is_cpu());
  EXPECT_EQ(shape.scalar_type(), at::kLong);
  EXPECT_EQ(values_of(shape), (Ints{2, 3, 4, 5}));
  Model sliced = one_node_model("Shape", {2, 3, 4, 5}, {},
                                {{"start", int64_t{1}}, {"end", int64_t{-1}}}, 15);
  EXPECT_EQ(values_of(kernel_of(sliced).forward({meta}).at(0)), (Ints{3, 4}));
  Model tail = one_node_model("Shape", {2, 3, 4, 5}, {}, {{"start", int64_t{-2}}}, 15);
  EXPECT_EQ(values_of(kernel_of(tail).forward({meta}).at(0)), (Ints{4, 5}));
  Model size = one_node_model("Size", {2, 3, 4, 5});
  EXPECT_EQ(kernel_of(size).forward({meta}).at(0).item<int64_t>(), 120);
}

TEST(OpsShape, FoldedShapeSubgraphKeepsTheBatch) {
  Graph graph = flatten_by_shape_graph({1, 2, 3, 4});
  Graph folded = graph;
  passes::canonicalize(folded);
  ASSERT_EQ(folded.nodes.size(), 1u);  // only the Reshape, with the constant target [1, -1]
  at::manual_seed(0);
  const at::Tensor x = at::randn({3, 2, 3, 4}, at::kDouble);
  for (Graph* g : {&graph, &folded}) {  // shape read at run time, and the batch rule
    Model model = Model::from_graph(*g);
    expect_matches(model, x, [](const at::Tensor& t) { return t.reshape({3, 24}); });
  }
}

TEST(OpsShape, ReshapeZeroInferAllowZeroAndBatchRule) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({1, 2, 3, 4}, at::kDouble);
  expect_matches(one_node_model("Reshape", {1, 2, 3, 4}, {ints({0, -1, 4})}), x,
                 [](const at::Tensor& t) { return t.reshape({1, 6, 4}); });
  // Batch rule: built for [1, ...], run with batch 3.
  const at::Tensor batch = at::randn({3, 2, 3, 4}, at::kDouble);
  expect_matches(one_node_model("Reshape", {1, 2, 3, 4}, {ints({1, 6, 4})}), batch,
                 [](const at::Tensor& t) { return t.reshape({3, 6, 4}); });
  expect_matches(one_node_model("Reshape", {1, 2, 3, 4}, {ints({1, -1})}), batch,
                 [](const at::Tensor& t) { return t.reshape({3, 24}); });
  // Not a batch: the input's dim 0 was 4 at load.
  const at::Tensor four = at::randn({4, 6}, at::kDouble);
  expect_matches(one_node_model("Reshape", {4, 6}, {ints({1, 24})}), four,
                 [](const at::Tensor& t) { return t.reshape({1, 24}); });
  // allowzero: a 0 is a size, not a copy.
  const at::Tensor empty = at::randn({0, 3}, at::kDouble);
  Model zero = one_node_model("Reshape", {0, 3}, {ints({3, 0})}, {{"allowzero", int64_t{1}}}, 14);
  EXPECT_EQ(zero.logits(empty).sizes(), at::IntArrayRef({3, 0}));
  // Opset < 5: the shape attribute.
  expect_matches(one_node_model("Reshape", {1, 2, 3, 4}, {}, {{"shape", Ints{0, 12, 2}}}, 4), x,
                 [](const at::Tensor& t) { return t.reshape({1, 12, 2}); });
}

TEST(OpsShape, FlattenTransposeSqueezeUnsqueeze) {
  at::manual_seed(2);
  const at::Tensor x = at::randn({2, 3, 1, 4}, at::kDouble);
  const Ints shape{1, 3, 1, 4};
  for (int64_t axis : {0, 1, 2, -1, 4}) {
    expect_matches(one_node_model("Flatten", shape, {}, {{"axis", axis}}), x,
                   [axis](const at::Tensor& t) {
                     const int64_t a = axis < 0 ? axis + 4 : axis;
                     int64_t lead = 1;
                     for (int64_t d = 0; d < a; ++d) lead *= t.size(d);
                     return t.reshape({lead, t.numel() / lead});
                   });
  }
  expect_matches(one_node_model("Transpose", shape, {}, {{"perm", Ints{0, 3, 1, 2}}}), x,
                 [](const at::Tensor& t) { return t.movedim(3, 1); });
  expect_matches(one_node_model("Transpose", shape), x,
                 [](const at::Tensor& t) { return t.movedim({0, 1, 2, 3}, {3, 2, 1, 0}); });
  expect_matches(one_node_model("Squeeze", shape, {}, {{"axes", Ints{2}}}, 11), x,
                 [](const at::Tensor& t) { return t.select(2, 0); });
  expect_matches(one_node_model("Squeeze", shape, {ints({-2})}, {}, 13), x,
                 [](const at::Tensor& t) { return t.select(2, 0); });
  const at::Tensor ones = at::randn({1, 3, 1, 1}, at::kDouble);
  expect_matches(one_node_model("Squeeze", {1, 3, 1, 1}, {}, {}, 13), ones,
                 [](const at::Tensor& t) { return t.reshape({3}); });
  expect_matches(one_node_model("Unsqueeze", shape, {}, {{"axes", Ints{0, 5}}}, 11), x,
                 [](const at::Tensor& t) { return t.unsqueeze(0).unsqueeze(5); });
  expect_matches(one_node_model("Unsqueeze", shape, {ints({-1, 1})}, {}, 13), x,
                 [](const at::Tensor& t) { return t.unsqueeze(1).unsqueeze(5); });
  EXPECT_THROW(one_node_model("Squeeze", shape, {}, {{"axes", Ints{1}}}, 11).logits(x), InputError);
}

TEST(OpsShape, ConcatAndItsVjp) {
  at::manual_seed(3);
  const at::Tensor x = at::randn({2, 3, 4}, at::kDouble);
  const at::Tensor c = at::randn({2, 2, 4}, at::kDouble);
  Model model = one_node_model("Concat", {1, 3, 4}, {c}, {{"axis", int64_t{-2}}});
  expect_matches(model, x, [&](const at::Tensor& t) { return at::cat({t, c}, 1); });
  // All inputs computed: each gets its part of the signal.
  const at::Tensor a = at::randn({2, 1, 4}, at::kDouble);
  const auto y = kernel_of(model).forward({x, c, a});
  const at::Tensor seed = at::randn_like(y[0]);
  const auto grads = kernel_of(model).vjp({x, c, a}, y, {seed}, {true, false, true});
  EXPECT_TRUE(grads[0].equal(seed.narrow(1, 0, 3)));
  EXPECT_FALSE(grads[1].defined());
  EXPECT_TRUE(grads[2].equal(seed.narrow(1, 5, 1)));
  // Shape data: int64 on the CPU.
  Model shapes = one_node_model("Concat", {2}, {ints({-1})}, {{"axis", int64_t{0}}});
  EXPECT_EQ(values_of(kernel_of(shapes).forward({ints({3, 4}), ints({-1})})[0]), (Ints{3, 4, -1}));
}

TEST(OpsShape, SplitForms) {
  at::manual_seed(4);
  const at::Tensor x = at::randn({2, 7, 3}, at::kDouble);
  struct Case {
    int64_t opset;
    std::vector<at::Tensor> constants;
    std::map<std::string, Attribute> attributes;
    int outputs;
    Ints expected;
  };
  const std::vector<Case> cases = {
      {11, {}, {{"axis", int64_t{1}}, {"split", Ints{2, 4, 1}}}, 3, {2, 4, 1}},
      {13, {ints({3, 4})}, {{"axis", int64_t{-2}}}, 2, {3, 4}},
      {18, {}, {{"axis", int64_t{1}}, {"num_outputs", int64_t{3}}}, 3, {3, 3, 1}},
      {13, {}, {{"axis", int64_t{1}}}, 1, {7}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "opset " << c.opset);
    const Model model = Model::from_graph(
        one_node_graph("Split", {1, 7, 3}, c.constants, c.attributes, c.opset, c.outputs));
    Tensors inputs{x};
    for (const auto& t : c.constants) inputs.push_back(t);
    const Tensors outputs = kernel_of(model).forward(inputs);
    ASSERT_EQ(outputs.size(), c.expected.size());
    int64_t offset = 0;
    for (size_t o = 0; o < outputs.size(); ++o) {
      EXPECT_TRUE(outputs[o].equal(x.narrow(1, offset, c.expected[o])));
      offset += c.expected[o];
    }
    // VJP with no signal on the second output (if any): zeros there.
    Tensors seeds;
    for (size_t o = 0; o < outputs.size(); ++o) {
      seeds.push_back(o == 1 ? at::Tensor() : at::randn_like(outputs[o]));
    }
    std::vector<bool> wanted(inputs.size(), false);
    wanted[0] = true;
    const at::Tensor grad = kernel_of(model).vjp(inputs, outputs, seeds, wanted)[0];
    const auto reference = reference_vjp(
        [&](const std::vector<at::Tensor>& in) {
          at::Tensor total = at::zeros({}, at::kDouble);
          int64_t at_offset = 0;
          for (size_t o = 0; o < seeds.size(); ++o) {
            if (seeds[o].defined()) total = total + (in[0].narrow(1, at_offset, c.expected[o]) * seeds[o]).sum();
            at_offset += c.expected[o];
          }
          return total;
        },
        {x}, at::ones({}, at::kDouble));
    EXPECT_LT(relative_error(grad, reference[0]), 1e-12);
  }
}

// The indices ONNX Slice selects along one dim, by its definition (clamp, then step).
Ints slice_indices(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  Ints result;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    for (int64_t i = start; i < end; i += step) result.push_back(i);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    for (int64_t i = start; i > end; i += step) result.push_back(i);
  }
  return result;
}

TEST(OpsShape, SliceClampsLikeOnnx) {
  at::manual_seed(5);
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  const at::Tensor x = at::randn({2, 9, 7}, at::kDouble);
  struct Case { Ints starts, ends, axes, steps; };
  const std::vector<Case> cases = {
      {{1}, {big}, {1}, {1}},            {{-3}, {big}, {-1}, {2}},
      {{8}, {small}, {1}, {-1}},         {{-1}, {-100}, {2}, {-3}},
      {{100}, {2}, {1}, {-2}},           {{2, 1}, {-1, 6}, {1, 2}, {3, 2}},
      {{5}, {2}, {1}, {1}},              {{0, 6}, {1, 0}, {0, 2}, {1, -2}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "starts " << c10::str(at::IntArrayRef(c.starts)) << " steps "
                                    << c10::str(at::IntArrayRef(c.steps)));
    Model model = one_node_model("Slice", {1, 9, 7},
                                 {ints(c.starts), ints(c.ends), ints(c.axes), ints(c.steps)});
    expect_matches(model, x, [&](const at::Tensor& t) {
      at::Tensor y = t;
      for (size_t i = 0; i < c.starts.size(); ++i) {
        const int64_t a = c.axes[i] < 0 ? c.axes[i] + 3 : c.axes[i];
        y = y.index_select(a, ints(slice_indices(t.size(a), c.starts[i], c.ends[i], c.steps[i])));
      }
      return y;
    });
  }
  // Opset 9: attributes; omitted axes mean the leading dims.
  Model old = one_node_model("Slice", {1, 9, 7}, {},
                             {{"starts", Ints{0, 2}}, {"ends", Ints{1, -2}}}, 9);
  expect_matches(old, x, [](const at::Tensor& t) { return t.slice(0, 0, 1).slice(1, 2, 7); });
  // Opset 10+: omitted axes and steps.
  Model plain = one_node_model("Slice", {1, 9, 7}, {ints({0, 3}), ints({2, 5})});
  expect_matches(plain, x, [](const at::Tensor& t) { return t.slice(1, 3, 5); });
}

TEST(OpsShape, GatherChannelsAndShapeEntries) {
  at::manual_seed(6);
  const at::Tensor x = at::randn({2, 5, 3}, at::kDouble);
  // Repeated indices: their signals add up.
  Model model = one_node_model("Gather", {1, 5, 3}, {ints({4, 0, -1, 2})}, {{"axis", int64_t{1}}});
  expect_matches(model, x, [](const at::Tensor& t) {
    return at::stack({t.select(1, 4), t.select(1, 0), t.select(1, 4), t.select(1, 2)}, 1);
  });
  // 2-D indices replace the axis by their shape; a scalar index removes it.
  Model matrix = one_node_model("Gather", {1, 5, 3}, {ints({0, 2, 1, 1}).reshape({2, 2})},
                                {{"axis", int64_t{-1}}});
  expect_matches(matrix, x, [](const at::Tensor& t) {
    return at::stack({at::stack({t.select(2, 0), t.select(2, 2)}, -1),
                      at::stack({t.select(2, 1), t.select(2, 1)}, -1)}, -2);
  });
  Model scalar = one_node_model("Gather", {1, 5, 3}, {at::scalar_tensor(3, at::kLong)},
                                {{"axis", int64_t{1}}});
  expect_matches(scalar, x, [](const at::Tensor& t) { return t.select(1, 3); });
  // On shape data.
  EXPECT_EQ(values_of(kernel_of(one_node_model("Gather", {4}, {ints({0})}))
                          .forward({ints({3, 8, 2, 2}), ints({0})})[0]),
            (Ints{3}));
}

TEST(OpsShape, ExpandAndTile) {
  at::manual_seed(7);
  const at::Tensor x = at::randn({3, 1}, at::kDouble);
  // Bidirectional: [3, 1] with [2, 1, 4] gives [2, 3, 4].
  expect_matches(one_node_model("Expand", {3, 1}, {ints({2, 1, 4})}), x,
                 [](const at::Tensor& t) { return at::stack({t, t}).mul(at::ones({4}, at::kDouble)); });
  const at::Tensor batch = at::randn({3, 2, 1}, at::kDouble);
  expect_matches(one_node_model("Expand", {1, 2, 1}, {ints({1, 2, 5})}), batch,
                 [](const at::Tensor& t) { return t * at::ones({1, 1, 5}, at::kDouble); });
  const at::Tensor y = at::randn({2, 3}, at::kDouble);
  expect_matches(one_node_model("Tile", {2, 3}, {ints({2, 3})}), y, [](const at::Tensor& t) {
    const at::Tensor rows = at::cat({t, t}, 0);
    return at::cat({rows, rows, rows}, 1);
  });
}

TEST(OpsShape, CastKeepsTheModelsFloatingType) {
  const at::Tensor x = at::randn({2, 3}, at::kDouble) * 10;
  Model to_float = one_node_model("Cast", {2, 3}, {}, {{"to", int64_t{1}}});
  Trace trace = to_float.forward(x);
  EXPECT_EQ(trace[to_float.output()].scalar_type(), at::kDouble);
  expect_matches(to_float, x, [](const at::Tensor& t) { return t; });
  Model to_long = one_node_model("Cast", {2, 3}, {}, {{"to", int64_t{7}}});
  const at::Tensor y = kernel_of(to_long).forward({x})[0];
  EXPECT_EQ(y.scalar_type(), at::kLong);
  EXPECT_TRUE(y.equal(x.to(at::kLong)));
  const at::Tensor f = kernel_of(to_float).forward({ints({2, 3})})[0];
  EXPECT_EQ(f.scalar_type(), at::kFloat);
  EXPECT_THROW(one_node_model("Cast", {2}, {}, {{"to", int64_t{8}}}), UnsupportedOperator);
}

TEST(OpsShape, IdentityAndDropoutKernels) {
  const at::Tensor x = at::randn({2, 3}, at::kDouble);
  for (const char* op : {"Identity", "Dropout"}) {
    expect_matches(one_node_model(op, {2, 3}), x, [](const at::Tensor& t) { return t; });
  }
}

// Index of position i of a padded dim in the original dim, for reflect / edge.
int64_t source_index(int64_t i, int64_t dim, bool reflect) {
  if (!reflect) return std::clamp<int64_t>(i, 0, dim - 1);
  while (i < 0 || i >= dim) i = i < 0 ? -i : 2 * (dim - 1) - i;
  return i;
}

at::Tensor reference_pad(const at::Tensor& x, const Ints& begin, const Ints& end, bool reflect) {
  at::Tensor y = x;
  for (int64_t d = 0; d < x.dim(); ++d) {
    Ints index;
    for (int64_t i = -begin[d]; i < x.size(d) + end[d]; ++i) {
      index.push_back(source_index(i, x.size(d), reflect));
    }
    y = y.index_select(d, ints(index));
  }
  return y;
}

TEST(OpsShape, PadModes) {
  at::manual_seed(8);
  const at::Tensor x = at::randn({2, 3, 5, 4}, at::kDouble);
  const Ints shape{1, 3, 5, 4};
  // Constant, with a crop (negative pad) and a value; opset 11 inputs and opset 2 attributes.
  const Ints pads{0, 1, 2, -1, 0, 0, 1, 3};
  auto constant = [](const at::Tensor& t) {
    return at::constant_pad_nd(t, {-1, 3, 2, 1, 1, 0}, 1.5);
  };
  expect_matches(one_node_model("Pad", shape, {ints(pads), at::scalar_tensor(1.5, at::kDouble)}, {}, 11),
                 x, constant);
  expect_matches(one_node_model("Pad", shape, {}, {{"pads", pads}, {"value", 1.5}}, 2), x, constant);
  // Reflect and edge over the spatial dims, and edge over C too.
  const Ints spatial{0, 0, 2, 1, 0, 0, 1, 3};
  for (const char* mode : {"reflect", "edge"}) {
    const bool reflect = std::string(mode) == "reflect";
    SCOPED_TRACE(mode);
    expect_matches(one_node_model("Pad", shape, {ints(spatial)}, {{"mode", std::string(mode)}}, 13),
                   x, [&](const at::Tensor& t) {
                     return reference_pad(t, {0, 0, 2, 1}, {0, 0, 1, 3}, reflect);
                   });
    const Ints three{0, 2, 1, 1, 0, 1, 4, 0};
    expect_matches(one_node_model("Pad", shape, {ints(three)}, {{"mode", std::string(mode)}}, 13),
                   x, [&](const at::Tensor& t) {
                     return reference_pad(t, {0, 2, 1, 1}, {0, 1, 4, 0}, reflect);
                   });
  }
  // Opset 18 axes.
  expect_matches(one_node_model("Pad", shape, {ints({1, 2}), at::Tensor(), ints({-1})},
                                {{"mode", std::string("edge")}}, 18),
                 x, [](const at::Tensor& t) { return reference_pad(t, {0, 0, 0, 1}, {0, 0, 0, 2}, false); });
  EXPECT_THROW(one_node_model("Pad", shape, {ints(pads)}, {{"mode", std::string("wrap")}}, 19),
               UnsupportedOperator);
}

TEST(OpsShape, ConstantOfShape) {
  Model zeros = one_node_model("ConstantOfShape", {3});
  const at::Tensor a = kernel_of(zeros).forward({ints({2, 3})})[0];
  EXPECT_TRUE(a.equal(at::zeros({2, 3})));
  Model sevens = one_node_model("ConstantOfShape", {2}, {},
                                {{"value", at::tensor(Ints{7}, at::TensorOptions().dtype(at::kLong))}});
  const at::Tensor b = kernel_of(sevens).forward({ints({4, 1})})[0];
  EXPECT_EQ(b.scalar_type(), at::kLong);
  EXPECT_TRUE(b.equal(at::full({4, 1}, 7, at::TensorOptions().dtype(at::kLong))));
}

}  // namespace
}  // namespace whitebox::test
