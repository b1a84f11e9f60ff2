// Concept relevance on ResNet-50 (batch 1, 224x224, 2 threads): the conditional maps of the 32
// most relevant channels of a layer against one unconditioned LRP pass of the same composite,
// at the outputs of layer2, layer3 and layer4, and with 8 or 32 maps per sweep.
// Usage: concepts_bench MODEL_DIR [runs]   (MODEL_DIR from bench/make_bench_models.py)
#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "timing.hpp"
#include "whitebox/concepts.hpp"
#include "whitebox/runtime.hpp"

using namespace whitebox;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: concepts_bench MODEL_DIR [runs]\n");
    return 2;
  }
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  set_threads(2);  // as the CLI does
  const Model model = Model::load(std::filesystem::path(argv[1]) / "resnet50.onnx");
  at::manual_seed(0);
  const at::Tensor x = at::randn({1, 3, 224, 224});
  const auto lrp = [&] { explain(model, x, {"lrp"}, Target::top()); };
  std::printf("| layer | maps per sweep | 32 conditional maps / one LRP pass |\n|---|---|---|\n");
  for (const char* layer : {"/layer2/layer2.3/relu_2/Relu_output_0",
                            "/layer3/layer3.5/relu_2/Relu_output_0",
                            "/layer4/layer4.2/relu_2/Relu_output_0"}) {
    for (const int64_t batch : {8, 32}) {
      ConceptOptions options;
      options.top = 32;
      options.batch = batch;
      const auto maps = [&] { concepts(model, x, layer, Target::top(), options); };
      const bench::Rounds t = bench::time_rounds({lrp, maps}, runs);
      std::printf("| %s | %lld | %.2f (%.0f ms / %.0f ms) |\n", layer, static_cast<long long>(batch),
                  t.ratio(1, 0), t.median(1), t.median(0));
      std::fflush(stdout);
    }
  }
  return 0;
}
