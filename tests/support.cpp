#include "support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "methods/parameters.hpp"

namespace whitebox::test {

std::filesystem::path test_data(const std::string& name) {
  return std::filesystem::path(WHITEBOX_TEST_DATA) / name;
}

std::filesystem::path fixture(const std::string& case_name) {
  const char* env = std::getenv("WHITEBOX_FIXTURES");  // lets a shared fixture folder be reused
  return std::filesystem::path(env && *env ? env : WHITEBOX_FIXTURES) / case_name;
}

bool has_fixture(const std::string& case_name) {
  return std::filesystem::exists(fixture(case_name) / "done");
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

ProcessResult run_process(const std::string& program, const std::vector<std::string>& args) {
  TempDir capture;
  std::string command = shell_quote(program);
  for (const auto& arg : args) (command += ' ') += shell_quote(arg);
  command += " >" + shell_quote((capture / "out").string()) + " 2>" +
             shell_quote((capture / "err").string());
  const int status = std::system(command.c_str());
  ProcessResult result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(capture / "out");
  result.err = read_text(capture / "err");
  return result;
}

TempDir::TempDir() {
  static int counter = 0;
  path_ = std::filesystem::temp_directory_path() /
          ("whitebox-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  const at::Tensor a = actual.to(at::kCPU).to(at::kDouble);
  const at::Tensor e = expected.to(at::kCPU).to(at::kDouble);
  if (!a.sizes().equals(e.sizes())) return INFINITY;
  const double scale = e.norm().item<double>();
  const double diff = (a - e).norm().item<double>();
  return scale > 0 ? diff / scale : diff;
}

Graph one_node_graph(const std::string& op_type, const std::vector<int64_t>& input_shape,
                     const std::vector<at::Tensor>& constants,
                     const std::map<std::string, Attribute>& attributes, int64_t opset,
                     int outputs) {
  // Built by appending: GCC 12 warns (wrongly) about "c" + std::to_string(i).
  const auto numbered = [](char prefix, size_t i) { return std::string(1, prefix) += std::to_string(i); };
  Graph graph;
  graph.opset = opset;
  graph.values.push_back(Value{"x", {}, input_shape, -1});
  graph.inputs = {0};
  Node node;
  node.name = op_type + "_node";
  node.op_type = op_type;
  node.attributes = attributes;
  node.inputs = {0};
  for (size_t i = 0; i < constants.size(); ++i) {
    if (!constants[i].defined()) {
      node.inputs.push_back(kNoValue);
      continue;
    }
    graph.values.push_back(Value{numbered('c', i), constants[i], constants[i].sizes().vec(), -1});
    node.inputs.push_back(static_cast<ValueId>(graph.values.size() - 1));
  }
  for (int o = 0; o < outputs; ++o) {
    graph.values.push_back(Value{numbered('y', o), {}, {}, -1});
    node.outputs.push_back(static_cast<ValueId>(graph.values.size() - 1));
  }
  graph.outputs = {node.outputs.at(0)};
  graph.nodes.push_back(std::move(node));
  graph.index_producers();
  return graph;
}

Model one_node_model(const std::string& op_type, const std::vector<int64_t>& input_shape,
                     const std::vector<at::Tensor>& constants,
                     const std::map<std::string, Attribute>& attributes, int64_t opset) {
  return Model::from_graph(one_node_graph(op_type, input_shape, constants, attributes, opset));
}

Model conv_dense_model(const std::vector<int64_t>& input_shape, bool relu, bool softmax) {
  Graph graph;
  auto value = [&](const std::string& name, at::Tensor constant = {}) {
    graph.values.push_back(Value{name, constant, {}, -1});
    return static_cast<ValueId>(graph.values.size() - 1);
  };
  at::manual_seed(3);
  const ValueId x = value("x");
  graph.values[x].shape = input_shape;
  const int64_t features = 4 * (input_shape[2] - 2) * (input_shape[3] - 2);
  const ValueId w = value("w", at::randn({4, 3, 3, 3}, at::kDouble));
  const ValueId b = value("b", at::randn({4}, at::kDouble));
  const ValueId c = value("c"), r = value("r"), f = value("f");
  const ValueId fw = value("fw", at::randn({5, features}, at::kDouble));
  const ValueId fb = value("fb", at::randn({5}, at::kDouble));
  const ValueId y = value("y");
  graph.nodes.push_back(Node{"conv0", "Conv", {x, w, b}, {c}, {}});
  if (relu) graph.nodes.push_back(Node{"relu0", "Relu", {c}, {r}, {}});
  graph.nodes.push_back(Node{"flat0", "Flatten", {relu ? r : c}, {f}, {}});
  graph.nodes.push_back(Node{"fc0", "Gemm", {f, fw, fb}, {y}, {{"transB", int64_t{1}}}});
  graph.inputs = {x};
  graph.outputs = {y};
  if (softmax) {
    const ValueId p = value("p");
    graph.nodes.push_back(Node{"prob", "Softmax", {y}, {p}, {{"axis", int64_t{1}}}});
    graph.outputs = {p};
  }
  graph.index_producers();
  return Model::from_graph(std::move(graph));
}

Explanation run(const std::string& method, const Model& model, const at::Tensor& x,
                const std::vector<int64_t>& classes, const Params& params) {
  // As explain() runs it: the values checked against the declaration, which gives the defaults.
  check_parameters({method}, params);
  const MethodInfo& info = find_method(method);
  const Params own = explainers::with_declared_defaults(info, params);
  return info.run(Context(model, x, classes, own));
}

at::Tensor sweep_gradient(const Model& model, const at::Tensor& x, const at::Tensor& seed) {
  Trace trace = model.forward(x);
  return model.sweep(trace, {{model.output(), seed}}).at(0);
}

}  // namespace whitebox::test
