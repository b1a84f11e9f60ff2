// The engine against LibTorch itself: forward, forward + input gradient, load time and the peak
// memory of the gradient pass, on ResNet-50 and VGG-16 (batch 1, 224x224, 2 threads).
// Usage: engine_bench MODEL_DIR [runs]   (MODEL_DIR from bench/make_bench_models.py)
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "timing.hpp"
#include "whitebox/model.hpp"
#include "whitebox/runtime.hpp"

namespace fs = std::filesystem;
using namespace whitebox;

namespace {

constexpr int64_t kClass = 1;

// A gradient needs only what the sweep reads: a lean trace.
at::Tensor whitebox_gradient(const Model& model, const at::Tensor& x) {
  return model.gradient(model.forward(x, {/*lean=*/true}), {kClass}).at(0);
}

at::Tensor torch_gradient(torch::jit::Module& module, const at::Tensor& x) {
  at::Tensor leaf = x.detach().requires_grad_(true);
  at::Tensor logits = module.forward({leaf}).toTensor();
  return torch::autograd::grad({logits.select(1, kClass).sum()}, {leaf})[0];
}

// Child-process mode: one gradient pass, print the growth of peak memory.
int peak_mode(const std::string& which, const fs::path& dir, const std::string& name) {
  set_threads(2);
  const at::Tensor x = at::randn({1, 3, 224, 224});
  double growth = 0;
  if (which == "whitebox") {
    const Model model = Model::load(dir / (name + ".onnx"));
    growth = bench::peak_growth_mib([&] { whitebox_gradient(model, x); });
  } else {
    auto module = torch::jit::load((dir / (name + ".pt")).string());
    module.eval();
    growth = bench::peak_growth_mib([&] { torch_gradient(module, x); });
  }
  std::printf("%f\n", growth);
  return 0;
}

double child_peak(const std::string& which, const fs::path& dir, const std::string& name) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const std::string command = "'" + self + "' --peak " + which + " '" + dir.string() + "' " + name;
  FILE* pipe = popen(command.c_str(), "r");
  double growth = -1;
  if (pipe) {
    if (std::fscanf(pipe, "%lf", &growth) != 1) growth = -1;
    pclose(pipe);
  }
  return growth;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && std::string(argv[1]) == "--peak") return peak_mode(argv[2], argv[3], argv[4]);
  if (argc < 2) {
    std::fprintf(stderr, "usage: engine_bench MODEL_DIR [runs]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  const int runs = argc > 2 ? std::atoi(argv[2]) : 15;
  set_threads(2);
  keep_freed_memory();  // as the CLI does; the peak-memory children do not
  std::printf("| model | metric | LibTorch | whitebox | ratio |\n|---|---|---|---|---|\n");
  for (const std::string name : {"resnet50", "vgg16"}) {
    const auto start = std::chrono::steady_clock::now();
    const Model model = Model::load(dir / (name + ".onnx"));
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto module = torch::jit::load((dir / (name + ".pt")).string());
    module.eval();
    const at::Tensor x = at::randn({1, 3, 224, 224});

    const auto forward = bench::time_rounds(
        {[&] { at::NoGradGuard g; module.forward({x}); }, [&] { model.logits(x); }}, runs);
    const auto gradient = bench::time_rounds(
        {[&] { torch_gradient(module, x); }, [&] { whitebox_gradient(model, x); }}, runs);
    const double torch_peak = child_peak("torch", dir, name);
    const double whitebox_peak = child_peak("whitebox", dir, name);

    std::printf("| %s | forward (ms) | %.1f | %.1f | %.3f |\n", name.c_str(), forward.median(0),
                forward.median(1), forward.ratio(1, 0));
    std::printf("| %s | forward + input gradient (ms) | %.1f | %.1f | %.3f |\n", name.c_str(),
                gradient.median(0), gradient.median(1), gradient.ratio(1, 0));
    std::printf("| %s | peak memory of the gradient pass (MiB) | %.0f | %.0f | %.3f |\n",
                name.c_str(), torch_peak, whitebox_peak, whitebox_peak / torch_peak);
    std::printf("| %s | ONNX load (s) | | %.3f | |\n", name.c_str(), load_s);
    std::fflush(stdout);
  }
  return 0;
}
