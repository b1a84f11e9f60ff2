// The gradient, CAM and relevance methods against one forward pass and one forward + input
// gradient, on ResNet-50 and VGG-16 (batch 1, 224x224, 2 threads), and saliency against
// LibTorch's autograd.
// Usage: methods_bench MODEL_DIR [runs]   (MODEL_DIR from bench/make_bench_models.py)
//
// Every row (a method and its baseline) runs in a fresh process: a method's allocations (a full
// trace is ~100 MB of tensors per call) otherwise change the heap that the next row's calls
// find, and with it their page faults. Each process sets its threads (BLAS on the calling
// thread) and keeps freed memory in its heap, as the CLI does, for both sides.
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "timing.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/runtime.hpp"

namespace fs = std::filesystem;
using namespace whitebox;

namespace {

enum class Baseline { Forward, Gradient, TorchGradient };

struct Row {
  std::string what;
  std::vector<std::string> methods;
  Params params;
  Baseline baseline;
  // A round of the 50-pass methods lasts seconds: its baseline is `repeats` baseline calls in a
  // row, so that one slow call does not set the round's ratio.
  int repeats = 1;
};

const std::vector<std::string> kSingleSweep = {
    "saliency", "gradient-input", "guided-backprop", "deconvnet", "cam", "gradcam",
    "gradcam++", "hirescam", "xgradcam", "layercam", "eigencam", "fem"};

std::vector<Row> rows(const std::string& model) {
  // CAM is defined on ResNet's GAP + linear head only.
  std::vector<std::string> sweep = kSingleSweep;
  if (model == "vgg16") std::erase(sweep, "cam");
  return {
      {"Grad-CAM", {"gradcam"}, {}, Baseline::Forward},
      {"saliency", {"saliency"}, {}, Baseline::TorchGradient},
      {"12 single-sweep methods in one call (" + std::to_string(sweep.size()) + ")",
       sweep,
       {},
       Baseline::Gradient},
      {"LRP epsilon-plus-flat", {"lrp"}, {}, Baseline::Forward},
      {"LRP epsilon-gamma-box", {"lrp-epsilon-gamma-box"}, {}, Baseline::Forward},
      {"DeepLIFT (Rescale)", {"deeplift"}, {}, Baseline::Gradient},
      {"excitation backprop", {"excitation-backprop"}, {}, Baseline::Forward},
      {"integrated gradients, 50 steps",
       {"integrated-gradients"},
       Params().set("steps", "50"),
       Baseline::Gradient,
       5},
      {"SmoothGrad, 50 samples",
       {"smoothgrad"},
       Params().set("samples", "50"),
       Baseline::Gradient,
       5},
      // Methods of other libraries.
      {"Grad-CAM element-wise", {"gradcam-elementwise"}, {}, Baseline::Forward},
      {"EigenGrad-CAM", {"eigengradcam"}, {}, Baseline::Forward},
      {"Recipro-CAM", {"reciprocam"}, {}, Baseline::Forward},
      {"IS-CAM, 64 channels x 4 scales",
       {"iscam"},
       Params({{"channels", "64"}, {"samples", "4"}}),
       Baseline::Forward,
       20},
      {"SS-CAM, 64 channels x 4 copies",
       {"sscam"},
       Params({{"channels", "64"}, {"samples", "4"}}),
       Baseline::Forward,
       20},
      {"beta-smooth", {"beta-smooth"}, {}, Baseline::Gradient},
      {"expected gradients, 50 samples", {"expected-gradients"}, {}, Baseline::Gradient, 5},
      {"DeepLIFT-SHAP, 3 references", {"deeplift-shap"}, {}, Baseline::Gradient},
      {"feature ablation, SLIC region 32", {"feature-ablation"}, {}, Baseline::Forward, 5},
      {"LIME, 200 samples", {"lime"}, {}, Baseline::Forward, 20},
      {"Kernel SHAP, 200 samples", {"kernel-shap"}, {}, Baseline::Forward, 20},
      {"FullGrad", {"fullgrad"}, {}, Baseline::Forward},
      {"Finer-CAM", {"finercam"}, {}, Baseline::Forward},
      {"Seg-Eigen-CAM", {"segeigencam"}, {}, Baseline::Forward},
      {"KPCA-CAM", {"kpcacam"}, {}, Baseline::Forward},
      {"Smooth Grad-CAM++, 4 copies", {"smoothgradcam++"}, {}, Baseline::Forward},
      {"Refine-CAM, every stage", {"refinecam"}, {}, Baseline::Forward},
      {"Grad-CAM, aug_smooth", {"gradcam"}, Params().set("aug_smooth", "1"), Baseline::Forward},
      {"Grad-CAM, eigen_smooth", {"gradcam"}, Params().set("eigen_smooth", "1"), Baseline::Forward},
      {"Shapley-CAM (ReST)", {"shapleycam"}, {}, Baseline::Forward},
      {"Sobol, 8 x 8 cells x 32 designs", {"sobol"}, {}, Baseline::Forward},
  };
}

const char* baseline_name(Baseline b) {
  switch (b) {
    case Baseline::Forward: return "whitebox forward";
    case Baseline::Gradient: return "whitebox forward + input gradient";
    case Baseline::TorchGradient: return "LibTorch forward + input gradient";
  }
  return "";
}

// Times one row and prints its table line.
int run_row(const fs::path& dir, const std::string& name, size_t index, int runs) {
  set_threads(2);       // as the CLI does
  keep_freed_memory();  // as the CLI does
  const Row row = rows(name).at(index);
  const Model model = Model::load(dir / (name + ".onnx"));
  const at::Tensor x = at::randn({1, 3, 224, 224});
  std::function<void()> baseline;
  torch::jit::Module module;
  switch (row.baseline) {
    case Baseline::Forward: baseline = [&] { model.logits(x); }; break;
    case Baseline::Gradient:
      baseline = [&] { model.gradient(model.forward(x, {/*lean=*/true}), {1}); };
      break;
    case Baseline::TorchGradient:
      module = torch::jit::load((dir / (name + ".pt")).string());
      module.eval();
      baseline = [&] {
        at::Tensor leaf = x.detach().requires_grad_(true);
        at::Tensor logits = module.forward({leaf}).toTensor();
        torch::autograd::grad({logits.select(1, 1).sum()}, {leaf});
      };
      break;
  }
  const auto repeated = [&] {
    for (int i = 0; i < row.repeats; ++i) baseline();
  };
  const auto method = [&] { explain(model, x, row.methods, Target::top(), row.params); };
  const auto t = bench::time_rounds({repeated, method}, row.repeats > 1 ? std::max(3, runs / 3) : runs);
  std::printf("| %s | %s | %s | %.1f | %.1f | %.3f | %.3f |\n", name.c_str(), row.what.c_str(),
              baseline_name(row.baseline), t.fast(0) / row.repeats, t.fast(1),
              t.fast_ratio(1, 0) * row.repeats, t.ratio(1, 0) * row.repeats);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && std::string(argv[1]) == "--row") {
    return run_row(argv[2], argv[3], std::stoul(argv[4]), std::atoi(argv[5]));
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: methods_bench MODEL_DIR [runs]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int runs = argc > 2 ? std::atoi(argv[2]) : 7;
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::printf("| model | measurement | baseline | baseline (ms) | whitebox (ms) | ratio | "
              "ratio per round |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  int status = 0;
  for (const std::string name : {"resnet50", "vgg16"}) {
    for (size_t i = 0; i < rows(name).size(); ++i) {
      const std::string command = "'" + self + "' --row '" + dir + "' " + name + " " +
                                  std::to_string(i) + " " + std::to_string(runs);
      if (std::system(command.c_str()) != 0) status = 1;
    }
  }
  return status;
}
