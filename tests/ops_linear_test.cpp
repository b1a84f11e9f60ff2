#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "blas.hpp"
#include "ops_reference.hpp"

namespace whitebox::test {
namespace {

// matmul without matmul: broadcast multiply and sum over k.
at::Tensor reference_matmul(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const at::Tensor b2 = b.dim() == 1 ? b.unsqueeze(-1) : b;
  at::Tensor y = (a2.unsqueeze(-1) * b2.unsqueeze(-3)).sum(-2);
  if (a.dim() == 1) y = y.squeeze(-2);
  if (b.dim() == 1) y = y.squeeze(-1);
  return y;
}

at::Tensor reference_gemm(const std::vector<at::Tensor>& in, double alpha, double beta, bool ta,
                          bool tb) {
  const at::Tensor a = ta ? in[0].t() : in[0];
  const at::Tensor b = tb ? in[1].t() : in[1];
  at::Tensor y = reference_matmul(a, b) * alpha;
  if (in.size() > 2 && in[2].defined()) y = y + beta * in[2];
  return y;
}

// Checks every input's VJP of a kernel against autograd on the reference.
void expect_kernel_vjp(const ops::Kernel& kernel, const std::vector<at::Tensor>& inputs,
                       const Reference& reference, double tolerance = 1e-10) {
  const at::Tensor y = kernel.forward(inputs).at(0);
  const at::Tensor expected = reference(inputs);
  EXPECT_LT(relative_error(y, expected), tolerance);
  const at::Tensor seed = at::randn_like(expected);
  const auto grads = kernel.vjp(inputs, {y}, {seed}, std::vector<bool>(inputs.size(), true));
  const auto want = reference_vjp(reference, inputs, seed);
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(grads.at(i).defined()) << "input " << i;
    EXPECT_LT(relative_error(grads[i], want[i]), tolerance) << "input " << i;
  }
}

TEST(OpsLinear, GemmTransBWithBias) {
  at::manual_seed(0);
  const at::Tensor x = at::randn({3, 5}, at::kDouble);
  const at::Tensor w = at::randn({4, 5}, at::kDouble);
  const at::Tensor b = at::randn({4}, at::kDouble);
  Model model = one_node_model("Gemm", {1, 5}, {w, b}, {{"transB", int64_t{1}}});
  auto [fwd, grad] = compare_with_reference(
      model, x, [&](const at::Tensor& a) { return reference_gemm({a, w, b}, 1, 1, false, true); });
  EXPECT_LT(fwd, 1e-12);
  EXPECT_LT(grad, 1e-12);
}

TEST(OpsLinear, GemmAlphaBetaTransposesAllInputs) {
  at::manual_seed(1);
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      const at::Tensor a = ta ? at::randn({5, 3}, at::kDouble) : at::randn({3, 5}, at::kDouble);
      const at::Tensor b = tb ? at::randn({4, 5}, at::kDouble) : at::randn({5, 4}, at::kDouble);
      // C broadcast unidirectionally: [M, 1] here.
      const at::Tensor c = at::randn({3, 1}, at::kDouble);
      Model model = one_node_model("Gemm", a.sizes().vec(), {b, c},
                                   {{"alpha", 0.5}, {"beta", 2.0}, {"transA", int64_t{ta}},
                                    {"transB", int64_t{tb}}});
      SCOPED_TRACE(testing::Message() << "transA " << ta << " transB " << tb);
      expect_kernel_vjp(kernel_of(model), {a, b, c}, [&](const std::vector<at::Tensor>& in) {
        return reference_gemm(in, 0.5, 2.0, ta, tb);
      });
    }
  }
}

TEST(OpsLinear, GemmWithoutC) {
  at::manual_seed(2);
  const at::Tensor a = at::randn({2, 3}, at::kDouble);
  const at::Tensor b = at::randn({3, 4}, at::kDouble);
  Model model = one_node_model("Gemm", {2, 3}, {b}, {{"alpha", 3.0}});
  expect_kernel_vjp(kernel_of(model), {a, b}, [](const std::vector<at::Tensor>& in) {
    return reference_gemm(in, 3.0, 0.0, false, false);
  });
}

TEST(OpsLinear, MatMulBatchedNdByMatrix) {
  // convnext's Linear layers on NHWC tensors: [N, H, W, C] x [C, D].
  at::manual_seed(3);
  const at::Tensor w = at::randn({6, 5}, at::kDouble);
  Model model = one_node_model("MatMul", {1, 3, 4, 6}, {w});
  const at::Tensor x = at::randn({2, 3, 4, 6}, at::kDouble);
  auto [fwd, grad] =
      compare_with_reference(model, x, [&](const at::Tensor& a) { return reference_matmul(a, w); });
  EXPECT_LT(fwd, 1e-12);
  EXPECT_LT(grad, 1e-12);
  expect_kernel_vjp(kernel_of(model), {x, w}, [](const std::vector<at::Tensor>& in) {
    return reference_matmul(in[0], in[1]);
  });
}

TEST(OpsLinear, MatMulBroadcastAndVectorForms) {
  at::manual_seed(4);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{3, 4}, {4, 5}},          {{3, 4}, {2, 4, 5}},    {{2, 1, 3, 4}, {5, 4, 6}},
      {{4}, {2, 4, 5}},          {{2, 3, 4}, {4}},       {{4}, {4}},
      {{4}, {4, 5}},             {{7, 3, 4}, {7, 4, 2}},
  };
  for (const auto& [sa, sb] : cases) {
    SCOPED_TRACE(testing::Message() << c10::str(at::IntArrayRef(sa)) << " x "
                                    << c10::str(at::IntArrayRef(sb)));
    const at::Tensor a = at::randn(sa, at::kDouble);
    const at::Tensor b = at::randn(sb, at::kDouble);
    Model model = one_node_model("MatMul", sa, {b});
    expect_kernel_vjp(kernel_of(model), {a, b}, [](const std::vector<at::Tensor>& in) {
      return reference_matmul(in[0], in[1]);
    });
  }
}

// Products large enough to be split over the thread pool: a batch of one and a few rows by blocks
// of the weight's columns (gemv and gemm blocks), a tall operand by rows; forwards and in the VJP.
TEST(OpsLinear, ProductsSplitOverThreadsMatchTheReference) {
  at::manual_seed(6);
  const int threads = at::get_num_threads(), blas_threads = blas::own_threads();
  at::set_num_threads(2);
  blas::set_own_threads(1);
  for (const int64_t rows : {1, 3, 300}) {
    SCOPED_TRACE(testing::Message() << rows << " rows");
    const at::Tensor w = at::randn({301, 7}, at::kDouble);
    const at::Tensor b = at::randn({301}, at::kDouble);
    Model model = one_node_model("Gemm", {rows, 7}, {w, b}, {{"transB", int64_t{1}}});
    expect_kernel_vjp(kernel_of(model), {at::randn({rows, 7}, at::kDouble), w, b},
                      [](const std::vector<at::Tensor>& in) {
                        return reference_gemm(in, 1.0, 1.0, false, true);
                      });
    const at::Tensor m = at::randn({7, 301}, at::kDouble);
    Model matmul = one_node_model("MatMul", {1, rows, 7}, {m});
    expect_kernel_vjp(kernel_of(matmul), {at::randn({1, rows, 7}, at::kDouble), m},
                      [](const std::vector<at::Tensor>& in) {
                        return reference_matmul(in[0], in[1]);
                      });
  }
  at::set_num_threads(threads);
  blas::set_own_threads(blas_threads);
}

TEST(OpsLinear, ParametersGetNoSignal) {
  at::manual_seed(5);
  const at::Tensor w = at::randn({4, 5}, at::kDouble);
  Model model = one_node_model("Gemm", {1, 5}, {w, at::randn({4}, at::kDouble)},
                               {{"transB", int64_t{1}}});
  const at::Tensor x = at::randn({2, 5}, at::kDouble);
  const auto y = kernel_of(model).forward({x, w, at::zeros({4}, at::kDouble)});
  const auto grads = kernel_of(model).vjp({x, w, at::zeros({4}, at::kDouble)}, y,
                                          {at::ones_like(y[0])}, {true, false, false});
  EXPECT_TRUE(grads[0].defined());
  EXPECT_FALSE(grads[1].defined());
  EXPECT_FALSE(grads[2].defined());
}

}  // namespace
}  // namespace whitebox::test
