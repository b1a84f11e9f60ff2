// The gradient, CAM and relevance methods against one forward pass and one forward + input
// gradient, on ResNet-50 and VGG-16 (batch 1, 224x224, 2 threads), and saliency against
// LibTorch's autograd.
// Usage: methods_bench MODEL_DIR [runs]   (MODEL_DIR from bench/make_bench_models.py)
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "timing.hpp"
#include "whitebox/explain.hpp"

namespace fs = std::filesystem;
using namespace whitebox;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: methods_bench MODEL_DIR [runs]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  const int runs = argc > 2 ? std::atoi(argv[2]) : 7;
  at::set_num_threads(2);
  const std::vector<std::string> single_sweep = {
      "saliency", "gradient-input", "guided-backprop", "deconvnet", "cam", "gradcam",
      "gradcam++", "hirescam", "xgradcam", "layercam", "eigencam", "fem"};
  std::printf("| model | measurement | baseline | baseline (ms) | whitebox (ms) | ratio |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const std::string name : {"resnet50", "vgg16"}) {
    const Model model = Model::load(dir / (name + ".onnx"));
    auto module = torch::jit::load((dir / (name + ".pt")).string());
    module.eval();
    const at::Tensor x = at::randn({1, 3, 224, 224});
    auto explain_with = [&](std::vector<std::string> methods, Params params = {}) {
      return [&model, &x, methods, params] { explain(model, x, methods, Target::top(), params); };
    };
    auto whitebox_gradient = [&] { model.gradient(model.forward(x, {/*lean=*/true}), {1}); };
    auto torch_gradient = [&] {
      at::Tensor leaf = x.detach().requires_grad_(true);
      at::Tensor logits = module.forward({leaf}).toTensor();
      torch::autograd::grad({logits.select(1, 1).sum()}, {leaf});
    };
    // CAM is defined on ResNet's GAP + linear head only.
    std::vector<std::string> sweep_methods = single_sweep;
    if (name == "vgg16") std::erase(sweep_methods, "cam");

    const auto t = bench::median_ms(
        {[&] { model.logits(x); }, whitebox_gradient, torch_gradient, explain_with({"gradcam"}),
         explain_with({"saliency"}), explain_with(sweep_methods)},
        runs);
    const auto relevance = bench::median_ms(
        {[&] { model.logits(x); }, whitebox_gradient, explain_with({"lrp"}),
         explain_with({"deeplift"}), explain_with({"excitation-backprop"})},
        runs);
    const auto heavy = bench::median_ms(
        {explain_with({"integrated-gradients"}, Params().set("steps", "50")),
         explain_with({"smoothgrad"}, Params().set("samples", "50"))},
        std::max(1, runs / 4));
    auto row = [&](const char* what, const char* baseline, double base, double value) {
      std::printf("| %s | %s | %s | %.1f | %.1f | %.3f |\n", name.c_str(), what, baseline, base,
                  value, value / base);
    };
    row("Grad-CAM", "whitebox forward", t[0], t[3]);
    row("saliency", "LibTorch forward + input gradient", t[2], t[4]);
    row(("12 single-sweep methods in one call (" + std::to_string(sweep_methods.size()) + ")").c_str(),
        "whitebox forward + input gradient", t[1], t[5]);
    row("LRP epsilon-plus-flat", "whitebox forward", relevance[0], relevance[2]);
    row("DeepLIFT (Rescale)", "whitebox forward + input gradient", relevance[1], relevance[3]);
    row("excitation backprop", "whitebox forward", relevance[0], relevance[4]);
    row("integrated gradients, 50 steps", "whitebox forward + input gradient", t[1], heavy[0]);
    row("SmoothGrad, 50 samples", "whitebox forward + input gradient", t[1], heavy[1]);
    std::fflush(stdout);
  }
  return 0;
}
