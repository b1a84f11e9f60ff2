// Any bytes as a list file (docs/datasets.md): read_list either returns its items or throws one
// of whitebox's typed errors. The targets are resolved against a model of three classes.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>

#include "bytes_file.hpp"
#include "whitebox/dataset.hpp"
#include "whitebox/error.hpp"
#include "whitebox/model.hpp"

namespace {

// A classifier of three labelled classes: y = x + c for x of [1, 3].
const whitebox::Model& model() {
  static const whitebox::Model three = [] {
    whitebox::Graph graph;
    graph.opset = 13;
    graph.values.push_back(whitebox::Value{"x", {}, {1, 3}, -1});
    graph.values.push_back(whitebox::Value{"c", at::zeros({3}), {3}, -1});
    graph.values.push_back(whitebox::Value{"y", {}, {1, 3}, 0});
    graph.nodes.push_back({"add", "Add", {0, 1}, {2}, {}, nullptr});
    graph.inputs = {0};
    graph.outputs = {2};
    whitebox::Model m = whitebox::Model::from_graph(std::move(graph));
    m.labels = {"cat", "hotdog", "parrot"};
    return m;
  }();
  return three;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    whitebox::read_list(whitebox::fuzz::bytes_file(data, size, ".csv"), model());
  } catch (const whitebox::Error&) {
  }
  return 0;
}
