#include "whitebox/image.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "imaging/mat.hpp"
#include "whitebox/error.hpp"

namespace whitebox {

namespace {

// A PNG without its iCCP (colour profile) chunks. OpenCV ignores the profiles, but libpng prints a
// warning to stderr for many common ones ("known incorrect sRGB profile"): a CLI must stay quiet.
void drop_png_profiles(std::vector<uchar>& bytes) {
  static constexpr uchar signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || !std::equal(signature, signature + 8, bytes.begin())) return;
  std::vector<uchar> kept(bytes.begin(), bytes.begin() + 8);
  for (size_t at = 8; at + 12 <= bytes.size();) {
    const size_t length = (size_t{bytes[at]} << 24) | (size_t{bytes[at + 1]} << 16) |
                          (size_t{bytes[at + 2]} << 8) | size_t{bytes[at + 3]};
    const size_t end = at + 12 + length;  // length, type, data, CRC
    if (end > bytes.size()) return;       // malformed: let the decoder report it
    if (!std::equal(bytes.begin() + at + 4, bytes.begin() + at + 8, "iCCP")) {
      kept.insert(kept.end(), bytes.begin() + at, bytes.begin() + end);
    }
    at = end;
  }
  bytes = std::move(kept);
}

}  // namespace

at::Tensor read_image(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) throw FileError("image file not found: " + file.string());
  if (std::filesystem::is_directory(file, ec)) {
    throw FileError("image path is a folder, not a file: " + file.string());
  }
  // Read the bytes ourselves: imread cannot tell "unreadable" from "not an image".
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FileError("cannot read image file: " + file.string());
  std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw FileError("cannot read image file: " + file.string());

  drop_png_profiles(bytes);
  cv::Mat bgr;
  try {
    // IMREAD_COLOR turns greyscale into 3 channels, drops alpha and reduces 16-bit to 8-bit.
    if (!bytes.empty()) bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    bgr.release();  // OpenCV throws for some corrupt files; treat like any undecodable one
  }
  if (bgr.empty()) {
    throw InputError("cannot decode image file (not an image, or a format OpenCV does not read): " +
                     file.string());
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return imaging::to_tensor(rgb);
}

void write_image(const std::filesystem::path& file, const at::Tensor& rgb) {
  const at::Tensor picture = imaging::as_picture(rgb, "an image to write");
  cv::Mat bgr;
  cv::cvtColor(imaging::wrap(picture), bgr, cv::COLOR_RGB2BGR);

  const std::string extension = file.extension().string();
  std::vector<uchar> encoded;
  try {
    if (extension.empty() || !cv::imencode(extension, bgr, encoded)) encoded.clear();
  } catch (const cv::Exception&) {
    encoded.clear();  // unknown extension
  }
  if (encoded.empty()) {
    throw FileError("cannot write image " + file.string() + ": unsupported format '" + extension +
                    "' (use .png, .jpg, .bmp, ...)");
  }

  // Write beside the destination, then rename: readers never see a half-written picture.
  std::random_device entropy;
  auto temporary = file;
  temporary += ".tmp" + std::to_string(entropy());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (out) out.write(reinterpret_cast<const char*>(encoded.data()),
                       static_cast<std::streamsize>(encoded.size()));
    if (!out || !out.flush()) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw FileError("cannot write image " + file.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw FileError("cannot write image " + file.string() + ": " + ec.message());
  }
}

Input preprocess(const at::Tensor& rgb, const Preprocessing& preprocessing) {
  const at::Tensor picture = imaging::as_picture(rgb, "the image to preprocess");
  if (preprocessing.width <= 0 || preprocessing.height <= 0) {
    throw ArgumentError("the network input size must be positive, not " +
                        std::to_string(preprocessing.width) + "x" +
                        std::to_string(preprocessing.height));
  }
  if (!(preprocessing.crop > 0.0 && preprocessing.crop <= 1.0)) {
    throw ArgumentError("the central crop must be a fraction in (0, 1], not " +
                        c10::str(preprocessing.crop));
  }
  const int height = static_cast<int>(picture.size(0)), width = static_cast<int>(picture.size(1));
  const int side = std::clamp(static_cast<int>(std::lround(std::min(height, width) * preprocessing.crop)),
                              1, std::min(height, width));
  const cv::Rect square((width - side) / 2, (height - side) / 2, side, side);

  cv::Mat resized;
  // Bilinear, not INTER_AREA: the bundled models' reference accuracy was measured with bilinear.
  cv::resize(imaging::wrap(picture)(square), resized,
             cv::Size(preprocessing.width, preprocessing.height), 0, 0, cv::INTER_LINEAR);

  Input input;
  input.image = imaging::to_tensor(resized);
  const auto options = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor mean = at::tensor(std::vector<double>(preprocessing.mean.begin(), preprocessing.mean.end()), options);
  const at::Tensor deviation = at::tensor(std::vector<double>(preprocessing.std.begin(), preprocessing.std.end()), options);
  input.tensor = ((input.image.permute({2, 0, 1}).to(at::kFloat) / 255.0 - mean.view({3, 1, 1})) /
                  deviation.view({3, 1, 1}))
                     .unsqueeze(0)
                     .contiguous();
  return input;
}

bool is_image_file(const std::filesystem::path& file) {
  static const std::vector<std::string> extensions = {".png",  ".jpg",  ".jpeg", ".bmp", ".tif",
                                                      ".tiff", ".webp", ".ppm",  ".pgm"};
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

std::vector<std::filesystem::path> image_files(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(folder, error)) throw FileError("no image folder '" + folder.string() + "'");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path());
  }
  if (error) throw FileError("cannot list '" + folder.string() + "': " + error.message());
  if (files.empty()) {
    throw InputError("no images in " + folder.string() +
                     " (png, jpg, jpeg, bmp, tif, tiff, webp, ppm, pgm)");
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace whitebox
