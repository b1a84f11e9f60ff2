// The class-activation-map family: agreement with an independent PyTorch reference
// (tests/reference/cam_methods.py) on torchvision fixtures, properties on the bundled MobileNetV2,
// and clear errors.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/npy.hpp"

namespace whitebox::test {
namespace {

// Every CAM compared with the reference, and the parameters both sides use.
// clang-format off
const std::vector<std::string> kReferenced = {
    "gradcam", "gradcam++", "hirescam", "xgradcam", "layercam", "scorecam", "ablationcam",
    "eigencam", "fem", "mlfem", "gradcam-elementwise", "eigengradcam", "iscam", "sscam",
    "reciprocam", "finercam", "segeigencam", "kpcacam", "smoothgradcam++", "shapleycam"};
// clang-format on

// One parameter (a one-pair brace list would be ambiguous with Params' copy).
Params one(const std::string& name, const std::string& value) { return Params().set(name, value); }

Params reference_params() {
  return Params({{"layer", "features"}, {"layers", "features"}, {"channels", "8"}, {"samples", "3"},
                 {"noise", "0.5"}, {"seed", "4"}});
}

class MethodsCam : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(has_fixture(GetParam()))
        << "missing fixture " << fixture(GetParam()) << ": run the 'fixtures' test first";
    ASSERT_TRUE(std::filesystem::exists(fixture(GetParam()) / "ref_fem64.npy"))
        << "missing CAM references in " << fixture(GetParam()) << ": run the 'cam_references' test";
    std::ifstream(fixture(GetParam()) / "meta.json") >> meta_;
  }
  at::Tensor npy(const std::string& name) const { return read_npy(fixture(GetParam()) / (name + ".npy")); }
  int64_t target() const { return meta_["target"].get<int64_t>(); }
  Model load() const { return Model::load(fixture(GetParam()) / "model.onnx"); }

  nlohmann::json meta_;
};

TEST_P(MethodsCam, AgreesWithPyTorchReference) {
  const Model model = load();
  const at::Tensor x = npy("x");
  // All in one call: the gradient CAMs share one sweep.
  const auto results = explain(model, x, kReferenced, Target::index(target()), reference_params());
  // Two methods are legitimately moved by float32 roundoff (the float64 test below checks them):
  // XGrad-CAM divides by each channel's sum, so where activations of both signs nearly cancel
  // (densenet121's `features` is a BatchNorm output) roundoff of A is amplified by
  // max_k sum|A_k| / |sum A_k|; FEM's masks A > mu + 2 sigma flip for an activation within
  // roundoff of its threshold, moving the map by a whole channel mean there.
  const at::Tensor A = model.forward(x)[model.graph().resolve("features")].to(at::kDouble);
  const double condition = (A.abs().sum({2, 3}) / A.sum({2, 3}).abs()).max().item<double>();
  const at::Tensor threshold = A.mean({2, 3}, true) + 2 * A.std({2, 3}, false, true);
  const double margin = ((A - threshold).abs() / threshold.abs()).min().item<double>();
  for (const auto& name : kReferenced) {
    const Explanation& e = results.at(name);
    const at::Tensor reference = npy("ref_" + name);
    const bool ill_conditioned = name == "xgradcam" && condition > 1e3;
    const bool near_threshold = (name == "fem" || name == "mlfem") && margin < 1e-5;
    if (ill_conditioned || near_threshold) {
      std::printf("[ %-16s %-12s ] float32 not compared: %s %.1e\n", GetParam().c_str(), name.c_str(),
                  ill_conditioned ? "channel-sum conditioning" : "activation to threshold",
                  ill_conditioned ? condition : margin);
      continue;
    }
    // 1e-4, or ten times PyTorch's own float32-vs-float64 difference where float32 roundoff of a
    // deep forward matters more (Score-CAM's softmax scores of masked inputs on mobilenet_v2).
    const double tolerance = std::max(1e-4, 10 * relative_error(reference, npy("ref_" + name + "64")));
    EXPECT_EQ(e.attribution.sizes(), reference.sizes()) << name;
    EXPECT_LT(relative_error(e.attribution, reference), tolerance) << name;
    EXPECT_EQ(e.map.sizes(), (std::vector<int64_t>{1, x.size(2), x.size(3)})) << name;
    EXPECT_EQ(e.layer, "features") << name;
    std::printf("[ %-16s %-12s ] rel %.1e (tolerance %.0e)  %.3f s\n", GetParam().c_str(), name.c_str(),
                relative_error(e.attribution, reference), tolerance, e.stats.at("seconds"));
  }
}

TEST_P(MethodsCam, AgreesWithPyTorchReferenceInFloat64) {
  const Model model = load().to(at::kDouble);
  const auto results = explain(model, npy("x").to(at::kDouble), kReferenced, Target::index(target()),
                               reference_params());
  for (const auto& name : kReferenced) {
    EXPECT_LT(relative_error(results.at(name).attribution, npy("ref_" + name + "64")), 1e-5) << name;
  }
}

// aug_smooth: the mean of the method's maps on the six augmented copies, each flipped back,
// computed here one copy at a time.
TEST_P(MethodsCam, AugmentationSmoothingAveragesTheAugmentedMaps) {
  if (GetParam() != "resnet18" && GetParam() != "mobilenet_v2") GTEST_SKIP() << "two suffice";
  const Model model = load();
  const at::Tensor x = npy("x");
  for (const std::string method : {"gradcam", "eigencam", "scorecam"}) {
    Params plain = one("layer", "features");
    if (method == "scorecam") plain.set("channels", "8");
    Params smoothed = plain;
    smoothed.set("aug_smooth", "1");
    const Explanation e = explain(model, x, {method}, Target::index(target()), smoothed).at(method);
    at::Tensor sum;
    for (const bool flip : {false, true}) {
      for (const double factor : {0.9, 1.0, 1.1}) {
        const at::Tensor copy = (flip ? x.flip({3}) : x) * factor;
        at::Tensor m =
            explain(model, copy, {method}, Target::index(target()), plain).at(method).map;
        if (flip) m = m.flip({2});
        sum = sum.defined() ? sum + m : m;
      }
    }
    EXPECT_LT(relative_error(e.map, sum / 6), 1e-5) << method;
    EXPECT_GT(
        relative_error(e.map,
                       explain(model, x, {method}, Target::index(target()), plain).at(method).map),
        1e-3)
        << method << ": smoothing changes the map";
  }
}

// eigen_smooth: Grad-CAM's weighted activations reduced by their first principal component.
TEST_P(MethodsCam, EigenSmoothAgreesWithReference) {
  const Model model = load().to(at::kDouble);
  const Explanation e =
      explain(model, npy("x").to(at::kDouble), {"gradcam"}, Target::index(target()),
              Params({{"layer", "features"}, {"eigen_smooth", "1"}}))
          .at("gradcam");
  EXPECT_LT(relative_error(e.attribution, npy("ref_gradcam_eigen64")), 1e-6);
  EXPECT_GT(relative_error(e.attribution, npy("ref_gradcam64")), 1e-3);
}

// KPCA-CAM's other kernel (the default, sigmoid, is compared above).
TEST_P(MethodsCam, KpcaCamRbfKernelAgreesWithReference) {
  const Model model = load().to(at::kDouble);
  const Explanation e =
      explain(model, npy("x").to(at::kDouble), {"kpcacam"}, Target::index(target()),
              Params({{"layer", "features"}, {"kernel", "rbf"}}))
          .at("kpcacam");
  EXPECT_LT(relative_error(e.attribution, npy("ref_kpcacam_rbf64")), 1e-6);
}

// Finer-CAM without comparison (alpha 0) explains z_c sum_J p_j / (sum_J p_j + 1e-9): Grad-CAM's
// map up to a relative 1e-9 / sum_J p_j; every base it wraps runs on the same seed.
TEST_P(MethodsCam, FinerCamWithoutComparisonIsItsBase) {
  const Model model = load();
  const at::Tensor x = npy("x");
  for (const std::string base : {"gradcam", "hirescam", "layercam"}) {
    const Params p({{"layer", "features"}, {"alpha", "0"}, {"base", base}});
    const auto r = explain(model, x, {"finercam", base}, Target::index(target()), p);
    EXPECT_LT(relative_error(r.at("finercam").attribution, r.at(base).attribution), 1e-5) << base;
  }
}

// FullGrad reads the gradient of every biased layer (Conv, BatchNormalization): against PyTorch
// hooks on the model as the engine folds it (float32) and on the model as exported (float64).
// Float64 is the exact check; in float32 the per-channel min-max scaling of channels whose
// |gradient x bias| is nearly constant amplifies roundoff (densenet121: 6e-3), so the bound there
// only catches a missing or extra layer (one of 20 layers moves the map by several percent).
TEST_P(MethodsCam, FullGradAgreesWithPyTorchReference) {
  const Model model = load();
  const at::Tensor x = npy("x");
  const Target target_class = Target::index(target());
  const Explanation e = explain(model, x, {"fullgrad"}, target_class).at("fullgrad");
  const Explanation e64 =
      explain(model.to(at::kDouble), x.to(at::kDouble), {"fullgrad"}, target_class).at("fullgrad");
  EXPECT_LT(relative_error(e64.map, npy("ref_fullgrad64")), 1e-10);
  EXPECT_LT(relative_error(e.map, npy("ref_fullgrad")), 1e-2);
  EXPECT_GT(e.stats.at("bias_layers"), 10);
  std::printf("[ %-16s fullgrad     ] float32 %.1e, float64 %.1e, %g bias layers\n",
              GetParam().c_str(), relative_error(e.map, npy("ref_fullgrad")),
              relative_error(e64.map, npy("ref_fullgrad64")), e.stats.at("bias_layers"));
}

// Alone, the layer-level CAMs run on a trace that keeps only the layer and what follows it
// (TraceOptions::sweep_stops, keep_last_map); beside MLFEM, which reads the whole trace, on a
// full one. The maps and the default layer must not differ.
TEST_P(MethodsCam, TracesKeepingOnlyTheHeadGiveTheSameMaps) {
  const Model model = load();
  const at::Tensor x = npy("x");
  const std::vector<std::string> lean = {"gradcam", "gradcam++", "layercam", "eigencam", "fem"};
  std::vector<std::string> full = lean;
  full.push_back("mlfem");
  for (const bool named : {false, true}) {
    // The default layer, or the reference's (MLFEM takes "layers").
    const Params params = named ? Params().set("layer", "features") : Params();
    const Params with_mlfem = named ? Params(params).set("layers", "features") : Params();
    const auto alone = explain(model, x, lean, Target::index(target()), params);
    const auto beside = explain(model, x, full, Target::index(target()), with_mlfem);
    for (const auto& name : lean) {
      EXPECT_EQ(alone.at(name).layer, beside.at(name).layer) << name;
      EXPECT_TRUE(alone.at(name).attribution.equal(beside.at(name).attribution))
          << name << " at " << alone.at(name).layer;
    }
  }
}

TEST_P(MethodsCam, CamWhereTheHeadIsPoolingAndOneLinearLayer) {
  const Model model = load();
  const at::Tensor x = npy("x");
  const bool defined = std::filesystem::exists(fixture(GetParam()) / "ref_cam.npy");
  // densenet121 applies a ReLU after `features`: CAM is defined at that ReLU's output, which the
  // automatic layer choice finds; at `features` itself it must refuse.
  const bool relu_after = GetParam() == "densenet121";
  const Params at_features = one("layer", "features");
  if (!defined || relu_after) {
    try {
      explain(model, x, {"cam"}, Target::index(target()), at_features);
      ADD_FAILURE() << "CAM accepted 'features' of " << GetParam();
    } catch (const ArgumentError& e) {
      EXPECT_NE(std::string(e.what()).find("global average pooling"), std::string::npos) << e.what();
      std::printf("%s: %s\n", GetParam().c_str(), e.what());
    }
  }
  if (!defined) return;
  const auto e = explain(model, x, {"cam", "gradcam", "hirescam"}, Target::index(target()),
                         relu_after ? Params() : at_features);
  const at::Tensor cam = e.at("cam").attribution;
  EXPECT_LT(relative_error(cam, npy("ref_cam")), 1e-4);
  EXPECT_TRUE(e.at("cam").is_signed);
  // Grad-CAM's weights are the linear row divided by h*w, so the ReLU'd CAM and Grad-CAM agree
  // once each is scaled to maximum 1; HiResCAM equals CAM up to the same factor (Draelos & Carin).
  const auto unit = [](const at::Tensor& m) { return m / m.max(); };
  EXPECT_LT(relative_error(unit(e.at("gradcam").attribution), unit(at::relu(cam))), 1e-4);
  EXPECT_LT(relative_error(unit(e.at("hirescam").attribution), unit(at::relu(cam))), 1e-4);
}

// The engine's Hessian-vector product (Model::hessian_vector_product) against PyTorch's double
// backward: ReST's gradient at `features` differentiated along the features, float64 on the
// model as exported. The gradient half equals the closed-form sweep's for the logit score, and
// with that score Shapley-CAM is Grad-CAM where the head is piecewise linear (all five here end in
// pooling and linear layers).
TEST_P(MethodsCam, HessianVectorProductAgreesWithPyTorch) {
  const Model model = load().to(at::kDouble);
  const at::Tensor x = npy("x").to(at::kDouble);
  const Trace trace = model.forward(x);
  const ValueId features = model.graph().resolve("features");
  const int64_t c = target();
  const Curvature rest = model.hessian_vector_product(
      trace, features, trace[features],
      [c](const at::Tensor& z) { return z.select(1, c) + at::log_softmax(z, 1).select(1, c); });
  const at::Tensor reference = npy("ref_shapley_hvp64");
  EXPECT_GT(reference.abs().max().item<double>(), 0.0);
  EXPECT_LT(relative_error(rest.hessian_vector, reference), 1e-9);
  const Curvature logit = model.hessian_vector_product(
      trace, features, trace[features], [c](const at::Tensor& z) { return z.select(1, c); });
  EXPECT_LT(relative_error(logit.gradient, model.gradient(trace, {c}, {features})[0]), 1e-12);
  EXPECT_EQ(logit.hessian_vector.abs().max().item<double>(), 0.0);
  const auto maps = explain(model, x, {"shapleycam", "gradcam"}, Target::index(c),
                            Params({{"layer", "features"}, {"score", "logit"}}));
  EXPECT_LT(relative_error(maps.at("shapleycam").attribution, maps.at("gradcam").attribution),
            1e-12);
  std::printf("[ %-16s hvp          ] float64 %.1e\n", GetParam().c_str(),
              relative_error(rest.hessian_vector, reference));
}

INSTANTIATE_TEST_SUITE_P(Torchvision, MethodsCam,
                         ::testing::Values("resnet18", "vgg16_bn", "densenet121", "mobilenet_v2",
                                           "efficientnet_b0"),
                         [](const auto& info) { return info.param; });

// --- the bundled MobileNetV2 on photos --------------------------------------------------------

struct Box {
  int64_t x0, y0, x1, y1;  // pixels of the 224 x 224 network input, end exclusive
};

at::Tensor photo(const Model& model, const std::string& name) {
  return preprocess(read_image(bundled("images/" + name)), model.preprocessing).tensor;
}

// Mass per pixel inside the box over mass per pixel outside it.
double box_contrast(const at::Tensor& map, const Box& box) {
  const at::Tensor m = at::relu(map[0]).to(at::kDouble);
  const at::Tensor inside = m.slice(0, box.y0, box.y1).slice(1, box.x0, box.x1);
  const double area_in = static_cast<double>(inside.numel());
  const double area_out = static_cast<double>(m.numel()) - area_in;
  const double mass_in = inside.sum().item<double>();
  const double mass_out = m.sum().item<double>() - mass_in;
  return (mass_in / area_in) / std::max(mass_out / area_out, 1e-30);
}

// Every registered CAM with a map at its layer's resolution (all but Guided Grad-CAM).
std::vector<std::string> all_cams() {
  std::vector<std::string> cams;
  for (const MethodInfo& m : methods()) {
    if (m.family == Family::Cam && m.resolution == Resolution::Layer) cams.push_back(m.name);
  }
  return cams;
}

// The whole photo, aspect kept, centred on a mid-grey (zero input) 224 x 224 canvas: the cat face
// of chelsea.png fills any square crop, so only the letterboxed photo has background to compare.
at::Tensor letterboxed(const Model& model, const std::string& name) {
  const at::Tensor rgb = read_image(bundled("images/" + name));
  const int64_t height = rgb.size(0), width = rgb.size(1);
  const int64_t h = 224 * height / width;  // landscape photos
  at::Tensor x = rgb.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 255.0;
  x = at::upsample_bilinear2d(x, {h, 224}, /*align_corners=*/false);
  const auto& p = model.preprocessing;
  const at::Tensor mean = at::tensor({p.mean[0], p.mean[1], p.mean[2]}, at::kDouble).to(at::kFloat).view({1, 3, 1, 1});
  const at::Tensor std = at::tensor({p.std[0], p.std[1], p.std[2]}, at::kDouble).to(at::kFloat).view({1, 3, 1, 1});
  at::Tensor canvas = at::zeros({1, 3, 224, 224});
  canvas.narrow(2, (224 - h) / 2, h).copy_((x - mean) / std);
  return canvas;
}

TEST(MethodsCamBundled, MapsConcentrateOnTheObject) {
  const Model model = Model::load(default_model());
  // Hand-made boxes around the object, in input pixels: chelsea.png (451 x 300) letterboxed to
  // 224 x 149 at row 37, the cat's head spanning x 20..375 of the photo; parrot.jpg centrally
  // cropped as usual, the bird's body spanning x 55..195 of the 224 x 224 crop.
  const std::vector<std::tuple<std::string, at::Tensor, Box>> photos = {
      {"chelsea.png", letterboxed(model, "chelsea.png"), {10, 37, 186, 186}},
      {"parrot.jpg", photo(model, "parrot.jpg"), {55, 0, 195, 224}}};
  for (const auto& [name, x, box] : photos) {
    const auto results = explain(model, x, all_cams(), Target::top(),
                                 Params({{"channels", "64"}, {"samples", "2"}}));
    for (const auto& method : all_cams()) {
      const double contrast = box_contrast(results.at(method).map, box);
      std::printf("[ %-12s %-12s ] inside/outside density %.2f  %.3f s\n", name.c_str(),
                  method.c_str(), contrast, results.at(method).stats.at("seconds"));
      // Seg-Eigen-CAM's sign rule (the larger extreme positive) is made for segmentation
      // networks: on chelsea.png it turns the background positive (density 0.09), as documented.
      if (method == "segeigencam") continue;
      EXPECT_GT(contrast, 1.0) << name << " " << method;
    }
  }
}

TEST(MethodsCamBundled, GradCamEqualsCamOnAOneByOneConvHead) {
  const Model model = Model::load(default_model());
  const auto e = explain(model, photo(model, "parrot.jpg"), {"cam", "gradcam"});
  const at::Tensor cam = at::relu(e.at("cam").attribution);
  const at::Tensor grad = e.at("gradcam").attribution;
  EXPECT_LT(relative_error(grad / grad.max(), cam / cam.max()), 1e-4);
}

// Refine-CAM is the product of its base's min-max normalised, upsampled maps at each layer (the
// base checked against PyTorch above): on the default's last two layers, computed here from
// LayerCAM (the default base) at each.
TEST(MethodsCamBundled, RefineCamMultipliesTheLayersMaps) {
  const Model model = Model::load(default_model());
  const at::Tensor x = photo(model, "parrot.jpg");
  std::vector<std::string> layers;  // the default: every stage end, finest first
  std::stringstream names(explain(model, x, {"refinecam"}).at("refinecam").layer);
  for (std::string name; std::getline(names, name, ',');) layers.push_back(name);
  ASSERT_GE(layers.size(), 3u);
  const std::string shallow = layers[layers.size() - 2], deep = layers.back();
  const Explanation two =
      explain(model, x, {"refinecam"}, Target::top(), one("layers", shallow + "," + deep))
          .at("refinecam");
  at::Tensor product = at::ones({1, 1, x.size(2), x.size(3)});
  for (const auto& layer : {shallow, deep}) {
    const at::Tensor m = explain(model, x, {"layercam"}, Target::top(), one("layer", layer))
                             .at("layercam")
                             .attribution;
    const at::Tensor scaled = (m - m.min()) / (m.max() - m.min());
    product *= at::upsample_bilinear2d(scaled.unsqueeze(1), {x.size(2), x.size(3)}, false);
  }
  EXPECT_LT(relative_error(two.map, product.squeeze(1)), 1e-5);
  EXPECT_EQ(two.layer, shallow + "," + deep);
}

TEST(MethodsCamBundled, SeveralLayersAreAveragedAtTheFinestResolution) {
  const Model model = Model::load(default_model());
  const at::Tensor x = photo(model, "chelsea.png");
  const Params none;
  const Context context(model, x, Target::top(), none);
  const std::string last = model.graph().values[context.layer()].name;
  // A 14 x 14 value: the last one of that resolution.
  std::string middle;
  for (const auto& node : model.graph().nodes) {
    const at::Tensor& t = context.trace[node.outputs[0]];
    if (t.dim() == 4 && t.size(2) == 14) middle = model.graph().values[node.outputs[0]].name;
  }
  ASSERT_FALSE(middle.empty());
  const auto single = explain(model, x, {"gradcam"}, Target::top(), one("layer", last)).at("gradcam");
  const auto mid = explain(model, x, {"gradcam"}, Target::top(), one("layer", middle)).at("gradcam");
  const auto both =
      explain(model, x, {"gradcam"}, Target::top(), one("layer", middle + "," + last)).at("gradcam");
  EXPECT_EQ(both.layer, middle + "," + last);
  EXPECT_EQ(both.attribution.sizes(), (std::vector<int64_t>{1, 14, 14}));
  // Each scaled by its maximum at layer resolution, then upsampled and averaged.
  const at::Tensor expected =
      0.5 * (single.map / single.attribution.max() + mid.map / mid.attribution.max());
  EXPECT_LT(relative_error(both.map, expected), 1e-5);
}

TEST(MethodsCamBundled, MlfemDefaultsToTheEndOfEveryStage) {
  const Model model = Model::load(default_model());
  const auto e = explain(model, photo(model, "parrot.jpg"), {"mlfem"}).at("mlfem");
  // MobileNetV2 at 224: stages at 112, 56, 28, 14 and 7.
  EXPECT_EQ(std::count(e.layer.begin(), e.layer.end(), ',') + 1, 5) << e.layer;
  EXPECT_EQ(e.attribution.sizes(), (std::vector<int64_t>{1, 112, 112}));
  EXPECT_GE(e.map.min().item<double>(), 0.0);
  EXPECT_LE(e.map.max().item<double>(), 1.0 + 1e-6);
}

TEST(MethodsCamBundled, GuidedGradCamIsGuidedBackpropTimesGradCam) {
  try {
    find_method("guided-backprop");
  } catch (const LookupError&) {
    GTEST_SKIP() << "guided-backprop is not registered yet";
  }
  const Model model = Model::load(default_model());
  const auto e = explain(model, photo(model, "parrot.jpg"), {"guided-gradcam", "guided-backprop", "gradcam"});
  const auto& guided = e.at("guided-backprop");
  EXPECT_LT(relative_error(e.at("guided-gradcam").map, guided.map * e.at("gradcam").map), 1e-6);
  EXPECT_LT(relative_error(e.at("guided-gradcam").attribution,
                           guided.attribution * e.at("gradcam").map.unsqueeze(1)),
            1e-6);
}

// --- Model::forward_from ---------------------------------------------------------------------

TEST(MethodsCamEngine, ForwardFromReplaysTheRestOfTheGraph) {
  const Model model = Model::load(default_model());
  const at::Tensor x = at::cat({photo(model, "parrot.jpg"), photo(model, "chelsea.png")});
  const Trace trace = model.forward(x);
  // A value in the middle of a residual stage: later nodes also read values from before it.
  ValueId middle = kNoValue;
  for (const auto& node : model.graph().nodes) {
    const at::Tensor& t = trace[node.outputs[0]];
    if (t.dim() == 4 && t.size(2) == 28) middle = node.outputs[0];
  }
  ASSERT_NE(middle, kNoValue);
  const at::Tensor logits = trace[model.output()];
  const Trace same = model.forward_from(trace, middle, trace[middle]);
  EXPECT_LT(relative_error(same[model.output()], logits), 1e-6);
  // Three copies per image, image-major; the last copy of each image zeroed.
  at::Tensor copies = trace[middle].repeat_interleave(3, 0).clone();
  copies[2].zero_();
  copies[5].zero_();
  const at::Tensor rerun = model.forward_from(trace, middle, copies)[model.output()];
  ASSERT_EQ(rerun.size(0), 6);
  EXPECT_LT(relative_error(rerun[0], logits[0]), 1e-6);
  EXPECT_LT(relative_error(rerun[1], logits[0]), 1e-6);
  EXPECT_LT(relative_error(rerun[3], logits[1]), 1e-6);
  EXPECT_GT(relative_error(rerun[2], logits[0]), 1e-3);
  EXPECT_THROW(model.forward_from(trace, middle, trace[middle].narrow(1, 0, 1)), InputError);
}

// Where the network itself curves (EfficientNet-B0's SiLU and squeeze-and-excitation products),
// the Hessian-vector product must equal the central difference of the closed-form sweep's
// gradient along v, in float64: H v = (g(A + e v) - g(A - e v)) / 2e + O(e^2) (1.5e-8 measured).
TEST(MethodsCamCurvature, HessianVectorProductIsTheDerivativeOfTheSweptGradient) {
  ASSERT_TRUE(has_fixture("efficientnet_b0")) << "run the 'fixtures' test first";
  const Model model = Model::load(fixture("efficientnet_b0") / "model.onnx").to(at::kDouble);
  const at::Tensor x = read_npy(fixture("efficientnet_b0") / "x.npy").to(at::kDouble);
  const Trace trace = model.forward(x);
  // A value in the middle of the network, several blocks before the head.
  std::vector<ValueId> maps;
  for (const auto& node : model.graph().nodes) {
    if (trace[node.outputs[0]].dim() == 4) maps.push_back(node.outputs[0]);
  }
  const ValueId middle = maps.at(maps.size() / 2);
  const int64_t c = 3;
  at::Generator generator = at::detail::createCPUGenerator(7);
  const at::Tensor v = at::randn(trace[middle].sizes(), generator, at::kDouble);
  const Curvature d = model.hessian_vector_product(
      trace, middle, v, [c](const at::Tensor& z) { return z.select(1, c); });
  const auto swept = [&](double e) {
    const Trace moved = model.forward_from(trace, middle, trace[middle] + e * v);
    return model.sweep(
        moved,
        {{model.output(),
          at::zeros_like(moved[model.output()]).index_fill_(1, at::tensor({c}), 1.0)}},
        {middle})[0];
  };
  const double e = 1e-5;
  const at::Tensor difference = (swept(e) - swept(-e)) / (2 * e);
  EXPECT_GT(d.hessian_vector.abs().max().item<double>(), 1e-6);
  EXPECT_LT(relative_error(d.hessian_vector, difference), 1e-6);
  EXPECT_LT(relative_error(d.gradient, swept(0)), 1e-12);
  std::printf("efficientnet_b0 at %s: |Hv| %.2e, against the difference %.1e\n",
              model.graph().values[middle].name.c_str(), d.hessian_vector.norm().item<double>(),
              relative_error(d.hessian_vector, difference));
  EXPECT_THROW(model.hessian_vector_product(trace, middle, v.narrow(1, 0, 1), nullptr),
               ArgumentError);
}

// --- taxonomy and errors ---------------------------------------------------------------------

TEST(MethodsCamRegistry, EveryCamIsRegisteredOnceWithItsTaxonomy) {
  std::vector<std::string> all = all_cams();
  all.push_back("guided-gradcam");
  // Every CAM is checked against the plain-PyTorch reference (tests/reference/cam_methods.py),
  // but those whose reference is a property of another test.
  const std::vector<std::string> elsewhere = {
      "cam",         // CamWhereTheHeadIsPoolingAndOneLinearLayer: Grad-CAM's map on such heads
      "refinecam"};  // RefineCamMultipliesTheLayersMaps: the product of its base at each layer
  for (const auto& name : all_cams()) {
    EXPECT_TRUE(std::count(kReferenced.begin(), kReferenced.end(), name) +
                    std::count(elsewhere.begin(), elsewhere.end(), name) ==
                1)
        << name << ": add it to kReferenced, with its reference in tests/reference/cam_methods.py";
  }
  for (const auto& name : all) {
    int count = 0;
    for (const auto& m : methods()) count += m.name == name;
    EXPECT_EQ(count, 1) << name;
    const MethodInfo& m = find_method(name);
    EXPECT_EQ(m.family, Family::Cam) << name;
    EXPECT_EQ(m.resolution, name == "guided-gradcam" ? Resolution::Input : Resolution::Layer)
        << name;
    EXPECT_FALSE(m.summary.empty() || m.citation.empty() || m.cost.empty()) << name;
    EXPECT_FALSE(m.hyperparameters.empty()) << name;
    for (const auto& h : m.hyperparameters) EXPECT_FALSE(h.fallback.empty() || h.meaning.empty());
    const bool gradient = name.find("cam") != std::string::npos && name != "cam" &&
                          name != "scorecam" && name != "ablationcam" && name != "eigencam" &&
                          name != "iscam" && name != "sscam" && name != "reciprocam" &&
                          name != "kpcacam";
    EXPECT_EQ(m.needs_gradient, gradient) << name;
    // Finer-CAM sweeps from its own seed, Smooth Grad-CAM++ on its noisy copies, Refine-CAM to
    // layers the scheduler does not know, Shapley-CAM differentiates twice under autograd: none
    // shares the plain gradient's sweep.
    EXPECT_EQ(m.scheduling.layer_gradient, gradient && name != "finercam" &&
                                               name != "smoothgradcam++" && name != "refinecam" &&
                                               name != "shapleycam")
        << name;
    EXPECT_EQ(m.class_discriminative,
              name != "eigencam" && name != "fem" && name != "mlfem" && name != "kpcacam")
        << name;
  }
  EXPECT_EQ(find_method("grad-cam++").name, "gradcam++");
  EXPECT_EQ(find_method("score-cam").name, "scorecam");
}

TEST(MethodsCamErrors, BadLayersAndHeads) {
  const Model model = Model::load(default_model());
  const at::Tensor x = photo(model, "parrot.jpg");
  try {
    explain(model, x, {"gradcam"}, Target::top(), one("layer", "no_such_layer"));
    ADD_FAILURE() << "unknown layer accepted";
  } catch (const LookupError& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_layer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("whitebox inspect"), std::string::npos) << e.what();
  }
  for (const std::string method : {"gradcam", "scorecam", "fem"}) {
    EXPECT_THROW(explain(model, x, {method}, Target::top(), one("layer", "logits")), ArgumentError)
        << method;
  }
  EXPECT_THROW(explain(model, x, {"scorecam"}, Target::top(), one("batch", "0")), ArgumentError);
  // A layer that does not feed the pooling directly.
  const Params none;
  const Context context(model, x, Target::top(), none);
  const ValueId before = model.graph().nodes[model.graph().values[context.layer()].producer].inputs[0];
  try {
    explain(model, x, {"cam"}, Target::top(), one("layer", model.graph().values[before].name));
    ADD_FAILURE() << "CAM accepted a layer before the last one";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("global average pooling"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace whitebox::test
