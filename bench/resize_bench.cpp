// Resize against ATen's own resampling: whitebox computes every ONNX mode as a product with one
// interpolation matrix per axis; ATen has a dedicated kernel per PyTorch mode. Forward, and
// forward + VJP, on feature maps of the sizes a CNN resizes (float32, 2 threads).
// Usage: resize_bench [runs]
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "timing.hpp"
#include "whitebox/model.hpp"
#include "whitebox/runtime.hpp"

using namespace whitebox;

namespace {

// A graph of one Resize (opset 13) of an input [1, C, H, W] to `out` x `out`.
Model resize_model(int64_t channels, int64_t side, int64_t out, const std::string& mode) {
  Graph graph;
  graph.opset = 13;
  graph.values.push_back(Value{"x", {}, {1, channels, side, side}, -1});
  graph.values.push_back(Value{"sizes", at::tensor({int64_t{1}, channels, out, out}), {4}, -1});
  graph.values.push_back(Value{"y", {}, {}, -1});
  graph.inputs = {0};
  graph.nodes.push_back(
      Node{"resize",
           "Resize",
           {0, kNoValue, kNoValue, 1},
           {2},
           {{"mode", mode}, {"coordinate_transformation_mode", std::string("half_pixel")}}});
  graph.outputs = {2};
  graph.index_producers();
  return Model::from_graph(std::move(graph));
}

at::Tensor aten(const at::Tensor& x, int64_t out, const std::string& mode) {
  return mode == "linear" ? at::upsample_bilinear2d(x, {out, out}, false)
                          : at::upsample_bicubic2d(x, {out, out}, false);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 30;
  set_threads(2);
  std::printf("| resize | pass | ATen (ms) | whitebox (ms) | ratio |\n|---|---|---|---|---|\n");
  struct Case {
    int64_t channels, side, out;
    std::string mode;
  };
  for (const Case& c : {Case{256, 14, 28, "linear"}, Case{64, 56, 112, "linear"},
                        Case{256, 14, 28, "cubic"}, Case{3, 224, 112, "linear"}}) {
    const Model model = resize_model(c.channels, c.side, c.out, c.mode);
    const at::Tensor x = at::randn({1, c.channels, c.side, c.side});
    const at::Tensor seed = at::randn({1, c.channels, c.out, c.out});
    const std::string name = std::to_string(c.channels) + "x" + std::to_string(c.side) + " to " +
                             std::to_string(c.out) + " " + c.mode;
    const bench::Rounds forward =
        bench::time_rounds({[&] { aten(x, c.out, c.mode); }, [&] { model.forward(x); }}, runs);
    const bench::Rounds vjp =
        bench::time_rounds({[&] {
                              at::Tensor leaf = x.detach().requires_grad_(true);
                              torch::autograd::grad({aten(leaf, c.out, c.mode)}, {leaf}, {seed});
                            },
                            [&] {
                              model.sweep(model.forward(x), {{model.output(), seed}});
                            }},
                           runs);
    for (const auto& [pass, rounds] :
         {std::pair{"forward", &forward}, std::pair{"forward + VJP", &vjp}}) {
      std::printf("| %s | %s | %.3f | %.3f | %.2f |\n", name.c_str(), pass, rounds->median(0),
                  rounds->median(1), rounds->ratio(1, 0));
    }
  }
}
