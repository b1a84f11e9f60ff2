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

    const auto logits = [&] { model.logits(x); };
    const auto t = bench::time_rounds(
        {logits, whitebox_gradient, torch_gradient, explain_with({"gradcam"}),
         explain_with({"saliency"}), explain_with(sweep_methods)},
        runs);
    const auto relevance = bench::time_rounds(
        {logits, whitebox_gradient, explain_with({"lrp"}), explain_with({"deeplift"}),
         explain_with({"excitation-backprop"})},
        runs);
    // A round of the 50-pass methods lasts seconds: its baseline is five gradient passes in a
    // row (a fifth of their time), so that one slow pass does not set the round's ratio.
    constexpr int kRepeats = 5;
    const auto heavy = bench::time_rounds(
        {[&] { for (int i = 0; i < kRepeats; ++i) whitebox_gradient(); },
         explain_with({"integrated-gradients"}, Params().set("steps", "50")),
         explain_with({"smoothgrad"}, Params().set("samples", "50"))},
        std::max(3, runs / 3));
    // Function f of `rounds` against its function `baseline`, which calls the baseline `repeats`
    // times.
    auto row = [&](const std::string& what, const char* baseline_name, const bench::Rounds& rounds,
                   size_t f, size_t baseline, int repeats = 1) {
      std::printf("| %s | %s | %s | %.1f | %.1f | %.3f |\n", name.c_str(), what.c_str(),
                  baseline_name, rounds.median(baseline) / repeats, rounds.median(f),
                  rounds.ratio(f, baseline) * repeats);
    };
    const char* forward = "whitebox forward";
    const char* gradient = "whitebox forward + input gradient";
    row("Grad-CAM", forward, t, 3, 0);
    row("saliency", "LibTorch forward + input gradient", t, 4, 2);
    row("12 single-sweep methods in one call (" + std::to_string(sweep_methods.size()) + ")",
        gradient, t, 5, 1);
    row("LRP epsilon-plus-flat", forward, relevance, 2, 0);
    row("DeepLIFT (Rescale)", gradient, relevance, 3, 1);
    row("excitation backprop", forward, relevance, 4, 0);
    row("integrated gradients, 50 steps", gradient, heavy, 1, 0, kRepeats);
    row("SmoothGrad, 50 samples", gradient, heavy, 2, 0, kRepeats);
    std::fflush(stdout);
  }
  return 0;
}
