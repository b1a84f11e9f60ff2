#pragma once
// Shared test helpers: paths, tolerances, tiny graphs.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/model.hpp"

namespace whitebox::test {

std::filesystem::path test_data(const std::string& name);      // tests/data/NAME
std::filesystem::path fixture(const std::string& case_name);   // generated fixtures/CASE
bool has_fixture(const std::string& case_name);

// The whole content of a file ("" when it cannot be read).
std::string read_text(const std::filesystem::path& file);

// Runs `program args...` (no shell interpretation of the arguments) with stdout and stderr
// captured; code is the exit status, or 128 + the signal.
struct ProcessResult {
  int code = -1;
  std::string out, err;
};
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args);

// A fresh temporary folder, removed with its contents when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// ||a - b|| / ||b|| (Euclidean norms): the relative error used throughout the tests. Norm-wise,
// because float32 roundoff can legitimately flip a ReLU mask or a max-pool winner at a near-tie,
// which moves one element's gradient entirely while the rest agree to roundoff.
double relative_error(const at::Tensor& actual, const at::Tensor& expected);

// A graph of a single node `op_type` reading the graph input "x" and then `constants` (in that
// order, as the node's inputs 1, 2, ...; an undefined tensor is an omitted input), with the
// given attributes and number of outputs (the first is the graph output).
Graph one_node_graph(const std::string& op_type, const std::vector<int64_t>& input_shape,
                     const std::vector<at::Tensor>& constants = {},
                     const std::map<std::string, Attribute>& attributes = {}, int64_t opset = 13,
                     int outputs = 1);

// The same graph as a model (kernels built).
Model one_node_model(const std::string& op_type, const std::vector<int64_t>& input_shape,
                     const std::vector<at::Tensor>& constants = {},
                     const std::map<std::string, Attribute>& attributes = {}, int64_t opset = 13);

// A seeded float64 network Conv (4 channels, 3x3, bias) "conv0" -> [Relu "relu0"] -> Flatten ->
// Gemm (5 classes) "fc0" [-> Softmax "prob"], for an input of shape [N, 3, H, W].
Model conv_dense_model(const std::vector<int64_t>& input_shape, bool relu, bool softmax = false);

// The gradient of sum(output * seed) with respect to x through the model's sweep, and the same
// computed by torch autograd on `reference(x)`.
// Runs one registered method on a batch with these classes, its parameters checked and
// completed by its declaration as explain() does.
Explanation run(const std::string& method, const Model& model, const at::Tensor& x,
                const std::vector<int64_t>& classes, const Params& params = {});

at::Tensor sweep_gradient(const Model& model, const at::Tensor& x, const at::Tensor& seed);

// The message of the `Exception` that `call` throws; a test failure, and "", when it throws none.
template <typename Exception = Error, typename Call>
std::string message_of(Call&& call) {
  try {
    call();
  } catch (const Exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

}  // namespace whitebox::test
