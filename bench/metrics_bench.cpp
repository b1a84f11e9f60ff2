// Deletion + insertion (224 steps, blur substitution, batches of 32) against the forward passes
// they need: the same number of images through Model::logits in the same batches. The ratio is
// the metrics' own overhead (ranking, substitution, masking, scoring).
// Usage: metrics_bench [MODEL.onnx] [runs]   (default: the bundled MobileNetV2)
//        metrics_bench --each MODEL.onnx [runs] [metric,...]: every registered metric that reads
//        the model or re-runs the method (or those named), with its default options (Grad-CAM
//        as the method it re-runs), against one forward pass of one image, in the same rounds. A
//        metric over a data set is timed for what it does per image (observe); Focus takes two
//        bundled photos as its other images, MeGe the model itself as the other model.
#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "timing.hpp"
#include "whitebox/data.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/runtime.hpp"

using namespace whitebox;

// One row per metric: its time with default options over one forward pass of one image.
int each_metric(const std::filesystem::path& file, int runs, const std::string& only) {
  const Model model = Model::load(file);
  const at::Tensor x = preprocess(read_image(default_image()), model.preprocessing).tensor;
  const int64_t cls = model.logits(x).argmax(1).item<int64_t>();
  metrics::Sample sample;
  sample.model = &model;
  sample.image = x[0];
  sample.cls = cls;
  sample.map = explain(model, x, {"gradcam"}, Target::index(cls)).at("gradcam").map[0];
  sample.method = "gradcam";
  // Focus's other images as a data-set run hands them over (the random-weight bench networks
  // predict one class for every photo, so no photo would pass as another class).
  sample.other_images = [&](int64_t count) {
    std::vector<at::Tensor> photos;
    for (const char* name : {"parrot.jpg", "hot_dog.jpg"}) {
      photos.push_back(
          preprocess(read_image(bundled(std::string("images/") + name)), model.preprocessing)
              .tensor[0]);
    }
    return at::stack(photos).narrow(0, 0, count);
  };
  std::printf("| model | metric | forward (ms) | metric (ms) | ratio |\n|---|---|---|---|---|\n");
  for (const auto& metric : metrics::registry()) {
    if (!(metric.needs_model || metric.needs_explainer) ||
        (!only.empty() && ("," + only + ",").find("," + metric.name + ",") == std::string::npos)) {
      continue;
    }
    Params params;
    if (metric.name == "mege") params.set("models", file.string());
    const auto once = [&] {
      if (metric.over_dataset()) {
        metric.dataset.observe(sample, params);
      } else {
        metric.run(sample, params);
      }
    };
    const auto t = bench::time_rounds({[&] { model.logits(x); }, once}, runs);
    std::printf("| %s | %s | %.1f | %.1f | %.1f |\n", file.stem().string().c_str(),
                metric.name.c_str(), t.median(0), t.median(1), t.ratio(1, 0));
    if (metric.over_dataset()) {
      // The data-set step over 1000 images: this image's observations, the numbers after the
      // first (profile values or distances) redrawn uniformly for each.
      const std::vector<double> seen = metric.dataset.observe(sample, params);
      std::vector<std::vector<double>> observations(1000, seen);
      at::manual_seed(0);
      for (auto& o : observations) {
        const at::Tensor noise = at::rand({static_cast<int64_t>(o.size())}, at::kDouble);
        for (size_t k = 1; k < o.size(); ++k) o[k] = noise[k].item<double>();
      }
      const auto c = bench::time_rounds(
          {[&] { model.logits(x); }, [&] { metric.dataset.combine(observations, params); }}, runs);
      std::printf("| %s | %s: combining 1000 images | %.1f | %.1f | %.2f |\n",
                  file.stem().string().c_str(), metric.name.c_str(), c.median(0), c.median(1),
                  c.ratio(1, 0));
    }
    std::fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  set_threads(2);
  if (argc > 2 && std::string(argv[1]) == "--each")
    return each_metric(argv[2], argc > 3 ? std::atoi(argv[3]) : 3, argc > 4 ? argv[4] : "");
  const std::filesystem::path file =
      argc > 1 ? std::filesystem::path(argv[1]) : bundled("mobilenet_v2_1.0_224.onnx");
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const Model model = Model::load(file);
  const at::Tensor x = preprocess(read_image(default_image()), model.preprocessing).tensor;
  const auto maps = explain(model, x, {"saliency"});
  const at::Tensor map = maps.at("saliency").map[0];
  const int64_t cls = model.logits(x).argmax(1).item<int64_t>();

  metrics::PerturbationOptions options;  // 224 steps, blur, batches of 32
  const int64_t images = options.steps + 1;
  // The baseline: the same images per curve, in the same batches, through the network only.
  const at::Tensor full = x.expand({options.batch, -1, -1, -1}).contiguous();
  const auto forward_passes = [&] {
    for (int curve = 0; curve < 2; ++curve) {
      for (int64_t first = 0; first < images; first += options.batch) {
        model.logits(full.narrow(0, 0, std::min(options.batch, images - first)));
      }
    }
  };
  const auto curves = [&] {
    metrics::deletion(model, x[0], map, cls, options);
    metrics::insertion(model, x[0], map, cls, options);
  };
  const auto t = bench::time_rounds({forward_passes, curves}, runs);
  std::printf("| model | images | forward passes (ms) | deletion + insertion (ms) | ratio |\n");
  std::printf("|---|---|---|---|---|\n");
  std::printf("| %s | 2 x %lld | %.0f | %.0f | %.3f |\n", file.stem().string().c_str(),
              static_cast<long long>(images), t.median(0), t.median(1), t.ratio(1, 0));
  return 0;
}
