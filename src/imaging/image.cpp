#include "whitebox/image.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string_view>
#include <vector>

#include "closest.hpp"
#include "imaging/mat.hpp"
#include "whitebox/error.hpp"
#include "whitebox/files.hpp"
#include "whitebox/limits.hpp"

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

// Whether the bytes start as a PNG, JPEG, BMP, TIFF, WebP or PBM/PGM/PPM file: the formats that
// read_image decodes. OpenCV picks a decoder by the first bytes it recognises and would hand other
// files to any codec it was built with (Debian's has DICOM, JPEG 2000, OpenEXR, Radiance HDR).
// Its DICOM decoder looks at bytes 128-131 only ("DICM"), and takes a file that the decoder of
// the format its first bytes name declined (a PGM header without a space after "P5"): such a
// 135-byte file made GDCM abort on an assertion.
bool known_format(const std::vector<uchar>& b) {
  auto starts = [&](std::string_view magic, size_t at = 0) {
    return b.size() >= at + magic.size() &&
           std::equal(magic.begin(), magic.end(), b.begin() + at,
                      [](char m, uchar c) { return static_cast<uchar>(m) == c; });
  };
  if (starts("DICM", 128)) return false;
  return starts("\x89PNG\r\n\x1a\n") || starts("\xff\xd8\xff") || starts("BM") ||
         starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4)) ||
         (starts("RIFF") && starts("WEBP", 8)) ||
         (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && std::isspace(b[2]));
}

uint64_t big_endian(const std::vector<uchar>& b, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | b[at + i];
  return value;
}

uint64_t little_endian(const std::vector<uchar>& b, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | b[at + i];
  return value;
}

// A JPEG's frame size, from its first start-of-frame segment, and where its first scan starts
// (0 when it has none).
struct JpegFrame {
  std::pair<uint64_t, uint64_t> size{0, 0};
  size_t scan = 0;
};

JpegFrame jpeg_frame(const std::vector<uchar>& b) {
  JpegFrame frame;
  for (size_t at = 2; at + 9 <= b.size();) {
    const uchar marker = b[at + 1];
    // Bytes before a marker and fill bytes are skipped, as libjpeg skips them; so are the
    // markers without a length.
    if (b[at] != 0xff || marker == 0xff || marker == 0x00 || marker == 0x01 ||
        (marker >= 0xd0 && marker <= 0xd7)) {
      at += b[at] == 0xff && marker != 0xff ? 2 : 1;
      continue;
    }
    const bool start_of_frame =
        marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (start_of_frame && frame.size.first == 0) {
      frame.size = {big_endian(b, at + 7, 2), big_endian(b, at + 5, 2)};
    }
    if (marker == 0xda) {
      frame.scan = at;
      break;
    }
    at += 2 + big_endian(b, at + 2, 2);
  }
  return frame;
}

// Whether a JPEG's data ends: an end-of-image marker after its first scan. libjpeg decodes a
// truncated file with a warning, filling the missing rows with grey.
bool jpeg_complete(const std::vector<uchar>& b) {
  const size_t scan = jpeg_frame(b).scan;
  if (scan == 0) return false;
  for (size_t at = b.size(); at-- > scan + 1;) {
    if (b[at - 1] == 0xff && b[at] == 0xd9) return true;
  }
  return false;
}

// The width and height that the header of a PNG, JPEG, BMP, TIFF, WebP or PNM file declares,
// read before decoding; {0, 0} for a header too short or malformed to say.
std::pair<uint64_t, uint64_t> declared_size(const std::vector<uchar>& b) {
  const size_t n = b.size();
  if (n >= 24 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G' &&
      std::equal(b.begin() + 12, b.begin() + 16, "IHDR")) {  // the first chunk
    return {big_endian(b, 16, 4), big_endian(b, 20, 4)};
  }
  if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
    // BITMAPCOREHEADER (12 bytes) has 16-bit sizes; the others 32-bit, the height negative for
    // top-down rows.
    if (little_endian(b, 14, 4) == 12) return {little_endian(b, 18, 2), little_endian(b, 20, 2)};
    const auto height = static_cast<int32_t>(little_endian(b, 22, 4));
    return {little_endian(b, 18, 4), static_cast<uint64_t>(std::abs(int64_t{height}))};
  }
  if (n >= 4 && b[0] == 0xff && b[1] == 0xd8) return jpeg_frame(b).size;
  if (n >= 8 && (b[0] == 'I' || b[0] == 'M')) {  // TIFF: the first image's directory
    const bool little = b[0] == 'I';
    const auto number = [&](size_t at, int bytes) {
      return at + bytes > n ? 0 : little ? little_endian(b, at, bytes) : big_endian(b, at, bytes);
    };
    const uint64_t directory = number(4, 4);
    const uint64_t entries = number(directory, 2);
    uint64_t sizes[2] = {0, 0};  // tags 256 (ImageWidth) and 257 (ImageLength)
    for (uint64_t e = 0; e < entries && directory + 2 + 12 * (e + 1) <= n; ++e) {
      const size_t at = directory + 2 + 12 * e;
      const uint64_t tag = number(at, 2), type = number(at + 2, 2);
      if ((tag == 256 || tag == 257) && (type == 3 || type == 4)) {
        sizes[tag - 256] = number(at + 8, type == 3 ? 2 : 4);  // SHORT or LONG
      }
    }
    return {sizes[0], sizes[1]};
  }
  if (n >= 30 && b[0] == 'R') {  // WebP: the size of the first chunk's frame or canvas
    if (std::equal(b.begin() + 12, b.begin() + 16, "VP8 ")) {  // lossy: 14 bits each
      return {little_endian(b, 26, 2) & 0x3fff, little_endian(b, 28, 2) & 0x3fff};
    }
    if (std::equal(b.begin() + 12, b.begin() + 16, "VP8L")) {  // lossless: 14 bits each, minus one
      const uint64_t bits = little_endian(b, 21, 4);
      return {(bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1};
    }
    if (std::equal(b.begin() + 12, b.begin() + 16, "VP8X")) {  // extended: 24 bits each, minus one
      return {little_endian(b, 24, 3) + 1, little_endian(b, 27, 3) + 1};
    }
    return {0, 0};
  }
  if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') {  // PNM: "P6 <width> <height> ..."
    // As OpenCV reads the numbers: spaces and comments before each, one character of any kind
    // after it.
    uint64_t sizes[2] = {0, 0};
    size_t at = 2;
    for (uint64_t& size : sizes) {
      while (at < n && !std::isdigit(b[at])) {
        if (b[at] == '#') {
          while (at < n && b[at] != '\n' && b[at] != '\r') ++at;
        } else if (!std::isspace(b[at])) {
          return {0, 0};  // OpenCV refuses the header
        }
        ++at;
      }
      for (; at < n && std::isdigit(b[at]) && size <= (uint64_t{1} << 40); ++at) {
        size = size * 10 + (b[at] - '0');
      }
      ++at;
    }
    return {sizes[0], sizes[1]};
  }
  return {0, 0};
}

}  // namespace

at::Tensor read_image(const std::filesystem::path& file) {
  // Read the bytes ourselves: imread cannot tell "unreadable" from "not an image".
  const std::string content = read_file(file, "image file");
  std::vector<uchar> bytes(content.begin(), content.end());
  const std::string named = printable(file.string());
  if (!known_format(bytes)) {
    throw InputError(
        "not an image in a format whitebox reads (PNG, JPEG, BMP, TIFF, WebP, "
        "PBM/PGM/PPM): " +
        named);
  }
  const auto [width, height] = declared_size(bytes);
  if (width == 0 || height == 0) {
    throw InputError("image file " + named +
                     " declares no size in its header (truncated or corrupt)");
  }
  // OpenCV allows 2^30 pixels and allocates them before it reads a row: a 50-byte BMP declaring
  // 12800 x 65536 pixels made it allocate 2.5 GB, a 63 KB TIFF of 30000^2 pixels 7.9 GB.
  const uint64_t most = limits().image_pixels;
  if (width > most || height > most || width * height > most) {
    throw InputError("image file " + named + " declares " + std::to_string(width) + " x " +
                     std::to_string(height) + " pixels, more than the " + std::to_string(most) +
                     " whitebox decodes (WHITEBOX_MAX_IMAGE_PIXELS raises it)");
  }
  if (bytes[0] == 0xff && !jpeg_complete(bytes)) {
    throw InputError("image file " + named + " is a truncated JPEG (its data has no end)");
  }
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
                     named);
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return imaging::to_tensor(rgb);
}

std::string encode_image(const at::Tensor& rgb, const std::string& extension) {
  const at::Tensor picture = imaging::as_picture(rgb, "an image to write");
  cv::Mat bgr;
  cv::cvtColor(imaging::wrap(picture), bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> encoded;
  try {
    if (extension.empty() || !cv::imencode(extension, bgr, encoded)) encoded.clear();
  } catch (const cv::Exception&) {
    encoded.clear();  // unknown extension
  }
  if (encoded.empty()) {
    throw ArgumentError("cannot encode an image as '" + extension +
                        "': unsupported format (use .png, .jpg, .bmp, ...)");
  }
  return {reinterpret_cast<const char*>(encoded.data()), encoded.size()};
}

void write_image(const std::filesystem::path& file, const at::Tensor& rgb) {
  std::string encoded;
  try {
    encoded = encode_image(rgb, file.extension().string());
  } catch (const ArgumentError&) {
    throw FileError("cannot write image " + file.string() + ": unsupported format '" +
                    file.extension().string() + "' (use .png, .jpg, .bmp, ...)");
  }
  write_file(file, encoded);
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
  const std::string ext = lower(file.extension().string());
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
