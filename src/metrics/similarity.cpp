// Similarity of two explanation maps: rank correlation, SSIM and HOG (Adebayo et al. 2018).
#include "whitebox/similarity.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <numbers>

#include "whitebox/error.hpp"

namespace whitebox::metrics {
namespace {

at::Tensor as_map(const at::Tensor& map, const char* what) {
  if (!map.defined() || map.dim() != 2 || map.numel() == 0) {
    throw ArgumentError(std::string(what) + " needs [H, W] maps, not " +
                        (map.defined() ? c10::str(map.sizes()) : std::string("an undefined tensor")));
  }
  return map.detach().to(at::kDouble);
}

void check_same_size(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (a.sizes() != b.sizes()) {
    throw ArgumentError(std::string(what) + " needs maps of one size, not " + c10::str(a.sizes()) +
                        " and " + c10::str(b.sizes()));
  }
}

// |m| / max |m|, zeros for a map without signal.
at::Tensor unit_scaled(const at::Tensor& map) {
  const at::Tensor magnitude = map.abs();
  const double top = magnitude.max().item<double>();
  return top > 0 ? magnitude / top : at::zeros_like(magnitude);
}

// Pearson correlation of two flat tensors: 1 when both are constant, 0 when one is.
double correlation(const at::Tensor& x, const at::Tensor& y) {
  const at::Tensor dx = x - x.mean(), dy = y - y.mean();
  const double sxx = dx.square().sum().item<double>(), syy = dy.square().sum().item<double>();
  if (sxx == 0 || syy == 0) return sxx == syy ? 1.0 : 0.0;
  return (dx * dy).sum().item<double>() / std::sqrt(sxx * syy);
}

// 1-based ranks; a run of equal values gets the mean of the ranks it spans.
at::Tensor average_ranks(const at::Tensor& values) {
  const auto [sorted, order] = values.sort();
  const auto counts = std::get<2>(at::unique_consecutive(sorted, false, true));
  const at::Tensor ends = counts.cumsum(0).to(at::kDouble);
  const at::Tensor sorted_ranks = (ends - (counts.to(at::kDouble) - 1) / 2).repeat_interleave(counts);
  return at::empty_like(sorted_ranks).scatter_(0, order, sorted_ranks);
}

at::Tensor gaussian_window(int64_t size, double sigma, const at::TensorOptions& options) {
  const at::Tensor x = at::arange(size, options) - (size - 1) / 2.0;
  const at::Tensor g = at::exp(-x.square() / (2 * sigma * sigma));
  const at::Tensor w = at::outer(g, g);
  return (w / w.sum()).view({1, 1, size, size});
}

}  // namespace

double rank_correlation(const at::Tensor& a, const at::Tensor& b) {
  if (!a.defined() || !b.defined() || a.numel() != b.numel() || a.numel() == 0) {
    throw ArgumentError("rank correlation needs two non-empty tensors of one size");
  }
  const at::Tensor x = a.detach().to(at::kDouble).flatten();
  const at::Tensor y = b.detach().to(x.device(), at::kDouble).flatten();
  return correlation(average_ranks(x), average_ranks(y));
}

double ssim(const at::Tensor& a, const at::Tensor& b) {
  constexpr int64_t window = 11;
  constexpr double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;  // (k L)^2 for maps in [0, 1]
  const at::Tensor x0 = as_map(a, "SSIM"), y0 = as_map(b, "SSIM").to(x0.device());
  check_same_size(x0, y0, "SSIM");
  if (x0.size(0) < window || x0.size(1) < window) {
    throw ArgumentError("SSIM needs maps of at least 11x11 pixels, not " + c10::str(x0.sizes()));
  }
  const at::Tensor x = unit_scaled(x0).view({1, 1, x0.size(0), x0.size(1)});
  const at::Tensor y = unit_scaled(y0).view_as(x);
  const at::Tensor w = gaussian_window(window, 1.5, x.options());
  const auto blur = [&](const at::Tensor& t) { return at::conv2d(t, w); };
  const at::Tensor mx = blur(x), my = blur(y);
  const at::Tensor vx = blur(x * x) - mx * mx, vy = blur(y * y) - my * my, cxy = blur(x * y) - mx * my;
  const at::Tensor index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  return index.mean().item<double>();
}

at::Tensor hog(const at::Tensor& map, const HogOptions& options) {
  if (options.cell < 1 || options.block < 1 || options.bins < 1) {
    throw ArgumentError("HOG cells, blocks and bins must be positive");
  }
  const at::Tensor m = unit_scaled(as_map(map, "HOG"));
  const int64_t cells_y = m.size(0) / options.cell, cells_x = m.size(1) / options.cell;
  if (cells_y < options.block || cells_x < options.block) {
    throw ArgumentError("HOG needs a map of at least " + std::to_string(options.block * options.cell) +
                        " pixels a side, not " + c10::str(m.sizes()));
  }
  // Central differences; the border rows and columns have no gradient.
  at::Tensor gx = at::zeros_like(m), gy = at::zeros_like(m);
  gx.narrow(1, 1, m.size(1) - 2).copy_(m.narrow(1, 2, m.size(1) - 2) - m.narrow(1, 0, m.size(1) - 2));
  gy.narrow(0, 1, m.size(0) - 2).copy_(m.narrow(0, 2, m.size(0) - 2) - m.narrow(0, 0, m.size(0) - 2));
  const at::Tensor magnitude = at::hypot(gx, gy);
  at::Tensor angle = at::atan2(gy, gx);
  angle = at::where(angle < 0, angle + std::numbers::pi, angle);  // unsigned: [0, pi]

  // Each pixel votes for the two bins whose centres surround its orientation.
  const double width = std::numbers::pi / static_cast<double>(options.bins);
  const at::Tensor position = angle / width - 0.5;
  const at::Tensor lower = position.floor();
  const at::Tensor upper_share = position - lower;
  const at::Tensor low_bin = lower.to(at::kLong).remainder(options.bins).unsqueeze(0);
  const at::Tensor high_bin = (low_bin + 1).remainder(options.bins);
  at::Tensor votes = at::zeros({options.bins, m.size(0), m.size(1)}, m.options());
  votes.scatter_add_(0, low_bin, (magnitude * (1 - upper_share)).unsqueeze(0));
  votes.scatter_add_(0, high_bin, (magnitude * upper_share).unsqueeze(0));

  // Cell histograms [bins, cy, cx], then every block of block x block cells.
  const at::Tensor cropped = votes.narrow(1, 0, cells_y * options.cell).narrow(2, 0, cells_x * options.cell);
  const at::Tensor cells = at::avg_pool2d(cropped.unsqueeze(0), options.cell).squeeze(0) *
                           static_cast<double>(options.cell * options.cell);
  const at::Tensor blocks = cells.unfold(1, options.block, 1)
                                .unfold(2, options.block, 1)      // [bins, by, bx, block, block]
                                .permute({1, 2, 3, 4, 0})
                                .reshape({-1, options.block * options.block * options.bins});
  // L2-Hys: normalise, clip at 0.2, normalise again.
  constexpr double eps = 1e-5;
  const auto l2 = [&](const at::Tensor& v) { return v / (v.square().sum(1, true) + eps * eps).sqrt(); };
  return l2(l2(blocks).clamp_max(0.2)).flatten();
}

double hog_similarity(const at::Tensor& a, const at::Tensor& b, const HogOptions& options) {
  check_same_size(a, b, "HOG similarity");
  return correlation(hog(a, options), hog(b, options).to(a.device()));
}

MapSimilarity compare_maps(const at::Tensor& a, const at::Tensor& b, const HogOptions& options) {
  const at::Tensor x = as_map(a, "map comparison"), y = as_map(b, "map comparison").to(x.device());
  check_same_size(x, y, "map comparison");
  MapSimilarity s;
  s.spearman_abs = rank_correlation(x.abs(), y.abs());
  s.spearman = rank_correlation(x, y);
  s.ssim = ssim(x, y);
  s.hog = hog_similarity(x, y, options);
  return s;
}

}  // namespace whitebox::metrics
