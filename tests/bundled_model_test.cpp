// The bundled default model on the bundled photos, against an independent ONNX runtime: OpenCV's
// dnn module running the same network (exported at opset 10) on the very same input tensor. This
// checks the importer and kernels end to end on a real model, and the labels and preprocessing
// through the expected classes of the photos.
#include <gtest/gtest.h>

#include <opencv2/dnn.hpp>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/image.hpp"

namespace whitebox::test {
namespace {

// The class indices of the k largest logits, best first.
std::vector<int64_t> top_k(const at::Tensor& logits, int64_t k) {
  const at::Tensor indices = std::get<1>(logits.reshape({-1}).topk(k)).contiguous();
  return {indices.data_ptr<int64_t>(), indices.data_ptr<int64_t>() + k};
}

// OpenCV's logits for an input tensor [1, 3, H, W] float32, passed as a blob of the same layout.
at::Tensor opencv_logits(cv::dnn::Net& net, const at::Tensor& input) {
  const at::Tensor x = input.to(at::kCPU, at::kFloat).contiguous();
  const std::vector<int> shape(x.sizes().begin(), x.sizes().end());
  const cv::Mat blob(static_cast<int>(shape.size()), shape.data(), CV_32F, x.data_ptr<float>());
  net.setInput(blob);
  cv::Mat out = net.forward();
  const at::Tensor wrapped = at::from_blob(out.ptr<float>(), {static_cast<int64_t>(out.total())}, at::kFloat);
  return wrapped.clone().view({1, -1});  // out's buffer belongs to the net
}

class Bundled : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new Model(Model::load(default_model()));
    net_ = new cv::dnn::Net(cv::dnn::readNetFromONNX(test_data("mobilenet_v2_1.0_224_opset10.onnx").string()));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete net_;
    model_ = nullptr;
    net_ = nullptr;
  }
  static Model* model_;
  static cv::dnn::Net* net_;
};

Model* Bundled::model_ = nullptr;
cv::dnn::Net* Bundled::net_ = nullptr;

TEST_F(Bundled, PhotosMatchOpenCvDnn) {
  for (const std::string name : {"chelsea.png", "coffee.png", "parrot.jpg", "hot_dog.jpg", "cat.bmp", "bird.bmp"}) {
    SCOPED_TRACE(name);
    const Input input = preprocess(read_image(bundled("images/" + name)), model_->preprocessing);
    ASSERT_EQ(input.tensor.sizes(), at::IntArrayRef({1, 3, 224, 224}));
    const at::Tensor ours = model_->logits(input.tensor);
    const at::Tensor theirs = opencv_logits(*net_, input.tensor);
    ASSERT_EQ(ours.sizes(), theirs.sizes());
    EXPECT_LT(relative_error(ours, theirs), 1e-4);
    EXPECT_EQ(top_k(ours, 5), top_k(theirs, 5));
  }
}

TEST_F(Bundled, PhotosExpectedClasses) {
  ASSERT_EQ(model_->labels.size(), 1000u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"parrot.jpg", "macaw"}, {"hot_dog.jpg", "hotdog"}, {"bird.bmp", "chickadee"}, {"coffee.png", "espresso"}};
  for (const auto& [name, label] : expected) {
    SCOPED_TRACE(name);
    const Input input = preprocess(read_image(bundled("images/" + name)), model_->preprocessing);
    const std::string top1 = model_->labels.at(top_k(model_->logits(input.tensor), 1)[0]);
    // Labels list synonyms after commas ("hotdog, hot dog, red hot"): compare the first name.
    EXPECT_EQ(top1.substr(0, top1.find(',')), label) << top1;
  }
}

}  // namespace
}  // namespace whitebox::test
