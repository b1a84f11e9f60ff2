// Every registered operator is classified by every rule-based method: its kind and each method's
// treatment are written out here, so a new operator fails this test until someone decides, in
// this table, what LRP, DeepLIFT, guided backprop and the CAM head matcher do with it.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "methods/treatments.hpp"
#include "ops/kernel.hpp"
#include "support.hpp"
#include "whitebox/error.hpp"

namespace whitebox {
namespace {

using explainers::Treatment;
using ops::OpKind;
constexpr Treatment E = Treatment::Exact, R = Treatment::Rule, U = Treatment::Unsupported;

struct Expected {
  OpKind kind;
  Treatment lrp, deeplift, guided, cam_head;
};

const std::map<std::string, Expected>& expected() {
  static const std::map<std::string, Expected> table = {
      {"Relu", {OpKind::Rectifier, R, R, R, U}},
      {"Clip", {OpKind::Rectifier, R, R, R, U}},
      {"LeakyRelu", {OpKind::Activation, R, R, E, U}},
      {"PRelu", {OpKind::Activation, R, R, E, U}},
      {"Elu", {OpKind::Activation, R, R, E, U}},
      {"Selu", {OpKind::Activation, R, R, E, U}},
      {"Tanh", {OpKind::Activation, R, R, E, U}},
      {"Sigmoid", {OpKind::Activation, R, R, E, U}},
      {"HardSigmoid", {OpKind::Activation, R, R, E, U}},
      {"HardSwish", {OpKind::Activation, R, R, E, U}},
      {"Softplus", {OpKind::Activation, R, R, E, U}},
      {"Erf", {OpKind::Elementwise, U, R, E, U}},
      {"Exp", {OpKind::Elementwise, U, R, E, U}},
      {"Log", {OpKind::Elementwise, U, R, E, U}},
      {"Abs", {OpKind::Elementwise, U, R, E, U}},
      {"Neg", {OpKind::Elementwise, U, R, E, U}},
      {"Sqrt", {OpKind::Elementwise, U, R, E, U}},
      {"Reciprocal", {OpKind::Elementwise, U, R, E, U}},
      {"Add", {OpKind::Sum, R, E, E, U}},
      {"Sub", {OpKind::Sum, R, E, E, U}},
      {"Sum", {OpKind::Sum, R, E, E, U}},
      {"Mean", {OpKind::Sum, U, E, E, U}},
      {"Mul", {OpKind::Arithmetic, R, R, E, U}},
      {"Div", {OpKind::Arithmetic, R, R, E, U}},
      {"Pow", {OpKind::Arithmetic, U, R, E, U}},
      {"Max", {OpKind::Arithmetic, U, R, E, U}},
      {"Min", {OpKind::Arithmetic, U, R, E, U}},
      {"Conv", {OpKind::Linear, R, E, E, R}},
      {"Gemm", {OpKind::Linear, R, E, E, R}},
      {"MatMul", {OpKind::Linear, R, E, E, R}},
      {"AveragePool", {OpKind::Linear, R, E, E, R}},
      {"GlobalAveragePool", {OpKind::Linear, R, E, E, R}},
      {"ReduceSum", {OpKind::Linear, R, E, E, R}},
      {"ReduceMean", {OpKind::Linear, R, E, E, R}},
      {"Resize", {OpKind::Linear, R, E, E, R}},
      {"Upsample", {OpKind::Linear, R, E, E, R}},
      {"BatchNormalization", {OpKind::Affine, R, E, E, U}},
      {"MaxPool", {OpKind::Maximum, R, R, E, U}},
      {"GlobalMaxPool", {OpKind::Maximum, R, R, E, U}},
      {"ReduceMax", {OpKind::Maximum, R, R, E, U}},
      {"ReduceMin", {OpKind::Mixing, U, R, E, U}},
      {"ReduceL2", {OpKind::Mixing, U, R, E, U}},
      {"ReduceSumSquare", {OpKind::Mixing, U, R, E, U}},
      {"ReduceProd", {OpKind::Mixing, U, R, E, U}},
      {"Softmax", {OpKind::Mixing, U, R, E, U}},
      {"LogSoftmax", {OpKind::Mixing, U, R, E, U}},
      {"LRN", {OpKind::Mixing, U, R, E, U}},
      {"LayerNormalization", {OpKind::Mixing, R, R, E, U}},
      {"InstanceNormalization", {OpKind::Mixing, U, R, E, U}},
      {"Identity", {OpKind::Reshape, E, E, E, E}},
      {"Dropout", {OpKind::Reshape, E, E, E, E}},
      {"Reshape", {OpKind::Reshape, E, E, E, E}},
      {"Flatten", {OpKind::Reshape, E, E, E, E}},
      {"Squeeze", {OpKind::Reshape, E, E, E, E}},
      {"Unsqueeze", {OpKind::Reshape, E, E, E, E}},
      {"Cast", {OpKind::Reshape, E, E, E, E}},
      {"Transpose", {OpKind::Routing, E, E, E, U}},
      {"Concat", {OpKind::Routing, E, E, E, U}},
      {"Split", {OpKind::Routing, E, E, E, U}},
      {"Slice", {OpKind::Routing, E, E, E, U}},
      {"Gather", {OpKind::Routing, E, E, E, U}},
      {"Expand", {OpKind::Routing, E, E, E, U}},
      {"Tile", {OpKind::Routing, E, E, E, U}},
      {"Pad", {OpKind::Routing, E, E, E, U}},
      {"Shape", {OpKind::ShapeOnly, E, E, E, U}},
      {"Size", {OpKind::ShapeOnly, E, E, E, U}},
      {"ConstantOfShape", {OpKind::ShapeOnly, E, E, E, U}},
  };
  return table;
}

TEST(OpsTraits, EveryRegisteredOperatorIsClassifiedByEveryMethod) {
  std::set<std::string> registered;
  for (const std::string& op : ops::supported_operators()) {
    registered.insert(op);
    SCOPED_TRACE(op);
    auto it = expected().find(op);
    ASSERT_NE(it, expected().end()) << "a new operator: give it a row in this table";
    const Expected& e = it->second;
    EXPECT_EQ(ops::to_string(ops::traits(op).kind), ops::to_string(e.kind));
    EXPECT_EQ(explainers::lrp_treatment(op), e.lrp) << "LRP";
    EXPECT_EQ(explainers::deeplift_treatment(op), e.deeplift) << "DeepLIFT";
    EXPECT_EQ(explainers::guided_treatment(op), e.guided) << "guided backprop";
    EXPECT_EQ(explainers::cam_head_treatment(op), e.cam_head) << "CAM head";
  }
  for (const auto& [op, e] : expected())
    EXPECT_TRUE(registered.count(op)) << op << " has no kernel";
}

TEST(OpsTraits, AnOperatorWithoutAKernelIsNamed) {
  try {
    ops::traits("Mish");
    ADD_FAILURE() << "no error";
  } catch (const UnsupportedOperator& e) {
    EXPECT_NE(std::string(e.what()).find("Mish"), std::string::npos) << e.what();
  }
}

// The layer trait of each operator that has one; every other operator has none.
TEST(OpsTraits, LayersAreDeclaredWithTheKernels) {
  using ops::Layer;
  const std::map<std::string, Layer> layers = {{"Conv", Layer::Convolution},
                                               {"Gemm", Layer::Dense},
                                               {"MatMul", Layer::Dense},
                                               {"AveragePool", Layer::AveragePool},
                                               {"GlobalAveragePool", Layer::GlobalAveragePool},
                                               {"ReduceMean", Layer::AxisMean},
                                               {"Relu", Layer::Relu},
                                               {"Clip", Layer::Clip},
                                               {"Add", Layer::Addition},
                                               {"Sum", Layer::Addition},
                                               {"Sub", Layer::Subtraction},
                                               {"Mul", Layer::Multiplication},
                                               {"Div", Layer::Division},
                                               {"BatchNormalization", Layer::BatchNormalization},
                                               {"LayerNormalization", Layer::LayerNormalization}};
  for (const std::string& op : ops::supported_operators()) {
    const auto it = layers.find(op);
    EXPECT_EQ(ops::to_string(ops::traits(op).layer),
              ops::to_string(it == layers.end() ? Layer::None : it->second))
        << op;
  }
}

// The methods and metrics decide by traits, never by an operator's name: no string literal that
// names an operator may appear in their code (comments, messages and graph construction aside).
TEST(OpsTraits, MethodsAndMetricsNeverCompareOperatorNames) {
  const std::filesystem::path source(WHITEBOX_SOURCE_DIR);
  for (const char* folder : {"src/methods", "src/metrics"}) {
    for (const auto& entry : std::filesystem::directory_iterator(source / folder)) {
      std::istringstream lines(test::read_text(entry.path()));
      int number = 0;
      for (std::string line; std::getline(lines, line);) {
        ++number;
        line = line.substr(0, line.find("//"));
        if (line.find("op_type = \"") != std::string::npos) continue;  // building a node
        for (const std::string& op : ops::supported_operators()) {
          EXPECT_EQ(line.find('"' + op + '"'), std::string::npos)
              << entry.path().filename().string() << ":" << number << " names " << op
              << ": ask ops::traits() (kind, range, layer) or the kernel's linear form instead";
        }
      }
    }
  }
}

// The folders depend on each other in one direction: graph <- ops <- canonicalize <- engine <-
// methods, metrics. The IR holds no kernels (ops::Program binds them to the nodes), so nothing
// under src/graph/ includes a header of the layers above it, and the public graph.hpp does not
// name the kernels.
TEST(Layering, TheGraphIncludesNothingAboveIt) {
  const std::filesystem::path source(WHITEBOX_SOURCE_DIR);
  const std::regex above(R"(^\s*#\s*include\s*["<](ops|canonicalize|engine|methods|metrics)/)");
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(source / "src/graph")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::istringstream lines(test::read_text(entry.path()));
    int number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++number;
      EXPECT_FALSE(std::regex_search(line, above))
          << std::filesystem::relative(entry.path(), source).string() << ":" << number
          << " includes a header of a layer above the graph (" << line
          << "): the IR may not depend on kernels, passes, the engine, methods or metrics; put "
             "the code that needs them in that layer";
    }
  }
  EXPECT_GT(files, 0) << "no sources under src/graph/";
  const std::regex kernels(R"(\bKernel\b|\bops::|namespace ops\b)");
  std::istringstream lines(test::read_text(source / "include/whitebox/graph.hpp"));
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    EXPECT_FALSE(std::regex_search(line, kernels))
        << "include/whitebox/graph.hpp:" << number << " names the kernels (" << line
        << "): the IR holds none; ops::Program binds them to the nodes";
  }
}

// docs/operators.md's table names every operator that has a kernel.
TEST(OpsTraits, TheOperatorsPageListsEveryOperator) {
  const std::string page = test::read_text(std::string(WHITEBOX_SOURCE_DIR) + "/docs/operators.md");
  const std::string table = page.substr(0, page.find("## Resize"));
  for (const std::string& op : ops::supported_operators()) {
    EXPECT_TRUE(std::regex_search(table, std::regex("[ ,|]" + op + "[ ,|(]"))) << op;
  }
}

}  // namespace
}  // namespace whitebox
