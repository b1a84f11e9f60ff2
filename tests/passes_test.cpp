// Canonicalization passes keep what the graph computes and produce the expected structure.
#include <gtest/gtest.h>

#include "canonicalize/canonicalize.hpp"
#include "support.hpp"

namespace whitebox::test {
namespace {

// x -> Conv -> BatchNormalization -> Identity -> Add(x_conv2) ... a small graph built by hand:
//   c = Conv(x, W, b); n = BN(c); i = Identity(n); d = Conv(x, W2); s = Add(i, d); y = Add(s, bias)
Graph residual_graph() {
  at::manual_seed(3);
  Graph g;
  g.opset = 13;
  auto value = [&](const std::string& name, at::Tensor constant = {}) {
    g.values.push_back(Value{name, constant, constant.defined() ? constant.sizes().vec() : std::vector<int64_t>{}, -1});
    return static_cast<ValueId>(g.values.size() - 1);
  };
  auto node = [&](const std::string& op, std::vector<ValueId> in, ValueId out,
                  std::map<std::string, Attribute> attributes = {}) {
    g.nodes.push_back(Node{op + "_" + std::to_string(g.nodes.size()),
                           op,
                           std::move(in),
                           {out},
                           std::move(attributes)});
  };
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const ValueId x = value("x");
  g.values[x].shape = {1, 3, 6, 6};
  g.inputs = {x};
  const ValueId w = value("w", at::randn({4, 3, 3, 3}, opts));
  const ValueId b = value("b", at::randn({4}, opts));
  const ValueId c = value("c");
  node("Conv", {x, w, b}, c, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  const ValueId n = value("n");
  node("BatchNormalization",
       {c, value("gamma", at::rand({4}, opts) + 0.5), value("beta", at::randn({4}, opts)),
        value("mean", at::randn({4}, opts)), value("var", at::rand({4}, opts) + 0.5)},
       n, {{"epsilon", 1e-3}});
  const ValueId i = value("i");
  node("Identity", {n}, i);
  const ValueId d = value("d");
  node("Conv", {x, value("w2", at::randn({4, 3, 1, 1}, opts))}, d);
  const ValueId s = value("s");
  node("Add", {i, d}, s);
  const ValueId y = value("y");
  node("Add", {s, value("bias", at::randn({4, 1, 1}, opts))}, y);
  g.outputs = {y};
  g.index_producers();
  return g;
}

std::vector<std::string> op_types(const Graph& g) {
  std::vector<std::string> ops;
  for (const auto& n : g.nodes) ops.push_back(n.op_type);
  return ops;
}

TEST(Passes, CanonicalizeKeepsTheFunctionAndSimplifiesTheGraph) {
  Graph original = residual_graph();
  Graph canonical = original;
  passes::canonicalize(canonical);
  EXPECT_EQ(op_types(canonical), (std::vector<std::string>{"Conv", "Conv", "Sum", "Add"}));

  const Model before = Model::from_graph(std::move(original));
  const Model after = Model::from_graph(std::move(canonical));
  const at::Tensor x = at::randn({2, 3, 6, 6}, at::kDouble);
  EXPECT_LT(relative_error(after.logits(x), before.logits(x)), 1e-13);
  const at::Tensor seed = at::randn_like(before.logits(x));
  EXPECT_LT(relative_error(sweep_gradient(after, x, seed), sweep_gradient(before, x, seed)), 1e-13);
}

TEST(Passes, OneByOneAveragePoolingIsAnIdentityThatKeepsItsNames) {
  Graph original = residual_graph();
  Node& pool = original.nodes[2];  // the Identity, now a 1x1 average pooling with stride 1
  pool.op_type = "AveragePool";
  pool.name = "pool";
  pool.attributes = {{"kernel_shape", std::vector<int64_t>{1, 1}},
                     {"strides", std::vector<int64_t>{1, 1}}};
  Graph canonical = original;
  passes::canonicalize(canonical);
  EXPECT_EQ(op_types(canonical), (std::vector<std::string>{"Conv", "Conv", "Sum", "Add"}));
  // Its node and value names reach the value that replaced them: the folded convolution's output.
  const ValueId conv_output = canonical.nodes[0].outputs[0];
  EXPECT_EQ(canonical.resolve("i"), conv_output);
  EXPECT_EQ(canonical.resolve("pool"), conv_output);

  const Model before = Model::from_graph(std::move(original));
  const Model after = Model::from_graph(std::move(canonical));
  const at::Tensor x = at::randn({2, 3, 6, 6}, at::kDouble);
  EXPECT_LT(relative_error(after.logits(x), before.logits(x)), 1e-13);
}

TEST(Passes, AveragePoolingThatMovesValuesStays) {
  Graph g = residual_graph();
  Node& pool = g.nodes[2];  // 1x1 windows, but padded: the output grows by one on each side
  pool.op_type = "AveragePool";
  pool.attributes = {{"kernel_shape", std::vector<int64_t>{1, 1}},
                     {"pads", std::vector<int64_t>{1, 1, 1, 1}}};
  passes::remove_identities(g);
  EXPECT_EQ(op_types(g)[2], "AveragePool");
}

TEST(Passes, BatchNormWithASecondReaderStaysANode) {
  Graph g = residual_graph();
  // Let the Sum also read the conv output: folding would change what that reader sees.
  g.nodes[4].inputs[1] = g.nodes[0].outputs[0];
  passes::canonicalize(g);
  const auto ops = op_types(g);
  EXPECT_NE(std::find(ops.begin(), ops.end(), "BatchNormalization"), ops.end());
}

// BatchNorm parameters of another length than the conv's channels (a hostile model): no fold,
// whose arithmetic would have thrown an ATen error, and the node stays for its kernel to judge.
TEST(Passes, BatchNormOfOtherChannelsStaysANode) {
  for (const int64_t length : {3, 5}) {
    Graph g = residual_graph();
    g.values[g.nodes[1].inputs[4]].constant = at::ones({length}, at::kDouble);
    passes::canonicalize(g);
    const auto ops = op_types(g);
    EXPECT_NE(std::find(ops.begin(), ops.end(), "BatchNormalization"), ops.end());
  }
}

TEST(Passes, PruneDropsUnusedWeights) {
  Graph g = residual_graph();
  passes::canonicalize(g);
  // The original conv weight and the four BatchNorm parameters are gone; folded ones remain.
  for (const auto& v : g.values) {
    EXPECT_NE(v.name, "gamma");
    EXPECT_NE(v.name, "w");
  }
  // x, folded weight and bias, the BatchNorm output, w2, d, s, bias, y: renumbered densely.
  EXPECT_EQ(g.values.size(), 9u);
}

}  // namespace
}  // namespace whitebox::test
