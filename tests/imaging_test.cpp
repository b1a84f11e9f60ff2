// Image I/O, preprocessing and rendering: the imaging functions the CLI is built on.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "support.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/render.hpp"

namespace whitebox::test {
namespace {

namespace fs = std::filesystem;

TEST(Imaging, WriteReadRoundTrip) {
  TempDir dir;
  const at::Tensor picture = at::randint(0, 256, {5, 7, 3}, at::kByte);
  write_image(dir / "p.png", picture);
  EXPECT_TRUE(at::equal(read_image(dir / "p.png"), picture));
  EXPECT_THROW(write_image(dir / "p.nosuchformat", picture), FileError);
  EXPECT_THROW(write_image(dir / "missing-folder" / "p.png", picture), FileError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // no leftovers
  EXPECT_THROW(read_image(dir / "absent.png"), FileError);
}

// A header that declares more pixels than read_image decodes is refused before OpenCV allocates
// them (a 50-byte BMP made it allocate 2.5 GB), in every format whose header is read, and so is a
// file in a format that whitebox does not read; the pictures of every format it reads decode.
TEST(Imaging, HostileFilesAreRefusedBeforeDecoding) {
  TempDir dir;
  auto file = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return dir / name;
  };
  std::string bmp(54, '\0');
  bmp[0] = 'B', bmp[1] = 'M', bmp[14] = 40;   // BITMAPINFOHEADER
  bmp[19] = 0x32, bmp[24] = 1, bmp[28] = 24;  // 12800 x 65536, 24 bits
  std::string png = "\x89PNG\r\n\x1a\n";
  png += std::string("\0\0\0\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02", 18);
  const std::string jpeg("\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03", 12);
  for (const auto& [name, bytes, size] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"huge.bmp", bmp, "12800 x 65536"},
           {"huge.png", png, "100000 x 100000"},
           {"huge.jpg", jpeg, "65535 x 65535"},
           {"huge.ppm", "P6\n# a comment\n 40000 40000\n255\n", "40000 x 40000"},
           // OpenCV ends a number at any character.
           {"letter.ppm", "P6\n888229a844\n255\n", "888229 x 844"}}) {
    try {
      read_image(file(name, bytes));
      ADD_FAILURE() << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("declares " + size + " pixels"), std::string::npos)
          << e.what();
    }
  }
  // Other formats are not handed to OpenCV: its DICOM decoder, which takes any file with "DICM"
  // at byte 128, aborted on one that began as a PGM.
  const std::string dicom = "P5#" + std::string(125, '0') + "DICM";
  for (const std::string& bytes : {std::string("just text\n"), dicom}) {
    try {
      read_image(file("other", bytes));
      ADD_FAILURE() << bytes;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("not an image in a format whitebox reads"),
                std::string::npos)
          << e.what();
    }
  }
  for (const auto& entry :
       fs::directory_iterator(fs::path(WHITEBOX_SOURCE_DIR) / "fuzz/corpus/image")) {
    EXPECT_EQ(read_image(entry.path()).size(2), 3) << entry.path();
  }
}

TEST(Imaging, PreprocessCropsResizesNormalises) {
  // A 100x60 picture: the central crop is 0.5 * 60 = 30 pixels square.
  at::Tensor picture = at::zeros({60, 100, 3}, at::kByte);
  picture.slice(0, 15, 45).slice(1, 35, 65).fill_(255);
  Preprocessing p = Preprocessing::preset("unit", 16, 8);
  p.crop = 0.5;
  const Input input = preprocess(picture, p);
  EXPECT_EQ(input.tensor.sizes(), at::IntArrayRef({1, 3, 8, 16}));
  EXPECT_EQ(input.image.sizes(), at::IntArrayRef({8, 16, 3}));
  EXPECT_NEAR(input.tensor.min().item<double>(), 1.0, 1e-6);  // the crop is all white
  const Input imagenet = preprocess(picture, Preprocessing::preset("imagenet", 4, 4));
  EXPECT_NEAR(imagenet.tensor.min().item<double>(), (0 - 0.485) / 0.229, 1e-5);
}

// Felzenszwalb-Huttenlocher segments: a picture of two flat colours is cut in two at their border
// (the smoothing blurs the columns next to it, which then join either side: segments of at
// least 64 pixels, two columns' worth); on a photo every segment has the smallest size asked for.
TEST(Imaging, GraphSegmentsFollowColourEdges) {
  const Preprocessing unit = Preprocessing::preset("unit", 32, 32);
  at::Tensor x = at::zeros({3, 32, 32});
  x[0].slice(1, 0, 13).fill_(0.9);   // red on the left
  x[2].slice(1, 13, 32).fill_(0.8);  // blue on the right
  const at::Tensor labels = graph_segments(x, unit, 64);
  ASSERT_EQ(labels.sizes(), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(labels.max().item<int64_t>(), 1);
  EXPECT_TRUE(labels.slice(1, 0, 11).eq(labels[0][0]).all().item<bool>());
  EXPECT_TRUE(labels.slice(1, 15, 32).eq(labels[0][31]).all().item<bool>());
  EXPECT_EQ(graph_segments(x, unit, 16).max().item<int64_t>(), 5);  // the blurred columns apart
  EXPECT_NE(labels[0][0].item<int64_t>(), labels[0][31].item<int64_t>());

  const Preprocessing imagenet;
  const at::Tensor photo = preprocess(read_image(bundled("images/parrot.jpg")), imagenet).tensor[0];
  const at::Tensor parts = graph_segments(photo, imagenet, 200);
  const at::Tensor sizes = at::bincount(parts.flatten());
  EXPECT_GT(sizes.numel(), 4);
  EXPECT_GE(sizes.min().item<int64_t>(), 200);
  EXPECT_LT(graph_segments(photo, imagenet, 200, 3000).max().item<int64_t>(),
            parts.max().item<int64_t>());  // a larger k merges more
  EXPECT_THROW(graph_segments(photo.unsqueeze(0), imagenet, 200), InputError);
}

TEST(Imaging, ColorizeAndNormalize) {
  const at::Tensor diverging = colorize(at::tensor({-1.0f, 0.0f, 1.0f}).view({1, 3}), Colormap::RedBlue);
  EXPECT_TRUE(at::equal(diverging[0][0], at::tensor({0, 0, 255}, at::kByte)));
  EXPECT_TRUE(at::equal(diverging[0][1], at::tensor({255, 255, 255}, at::kByte)));
  EXPECT_TRUE(at::equal(diverging[0][2], at::tensor({255, 0, 0}, at::kByte)));
  const at::Tensor jet = colorize(at::ones({2, 2}), Colormap::Jet);
  EXPECT_GT(jet[0][0][0].item<int>(), jet[0][0][2].item<int>());  // jet's top is red, in RGB order

  const at::Tensor map = at::arange(1, 101, at::kFloat).view({10, 10});
  const at::Tensor clipped = normalize_map(map, Normalization::Absolute, 50.0);
  EXPECT_FLOAT_EQ(clipped.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(clipped[0][9].item<float>(), 10.0f / 50.0f);
  EXPECT_TRUE(at::equal(normalize_map(-map, Normalization::Positive), at::zeros({10, 10})));
  EXPECT_FLOAT_EQ(normalize_map(-map, Normalization::Signed).min().item<float>(), -1.0f);
  // A map that is not finite is an error, never a picture.
  at::Tensor broken = map.clone();
  broken[3][4] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(normalize_map(broken, Normalization::Signed), InputError);
  broken[3][4] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(normalize_map(broken, Normalization::Absolute), InputError);
  EXPECT_THROW(parse_colormap("rainbow"), LookupError);
  EXPECT_THROW(parse_normalization("log"), LookupError);

  const at::Tensor tiles = grid({at::zeros({20, 30, 3}, at::kByte), at::zeros({10, 10, 3}, at::kByte),
                                 at::zeros({20, 30, 3}, at::kByte)},
                                {"a", "b", "c"}, 2);
  EXPECT_GT(tiles.size(0), 2 * 20);
  EXPECT_GT(tiles.size(1), 2 * 30);
  EXPECT_EQ(overlay(at::zeros({20, 30, 3}, at::kByte), at::full({5, 5, 3}, 200, at::kByte), 0.5)
                .sizes(),
            at::IntArrayRef({20, 30, 3}));
}

}  // namespace
}  // namespace whitebox::test
