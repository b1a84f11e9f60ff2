// The map similarity measures of the sanity checks: rank correlation, SSIM, HOG.
#include <gtest/gtest.h>

#include <cmath>

#include "support.hpp"
#include "whitebox/error.hpp"
#include "whitebox/similarity.hpp"

namespace whitebox::test {
namespace {

using metrics::compare_maps;
using metrics::hog;
using metrics::hog_similarity;
using metrics::rank_correlation;
using metrics::ssim;

at::Tensor random_map(int64_t h, int64_t w, uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  return at::rand({h, w}, generator, at::kDouble);
}

TEST(SanitySimilarity, RankCorrelationOfMonotoneTransformsIsOne) {
  const at::Tensor a = random_map(20, 20, 1);
  EXPECT_NEAR(rank_correlation(a, 3 * a + 2), 1.0, 1e-12);
  EXPECT_NEAR(rank_correlation(a, at::exp(5 * a)), 1.0, 1e-12);
  EXPECT_NEAR(rank_correlation(a, -a), -1.0, 1e-12);
  EXPECT_LT(std::abs(rank_correlation(a, random_map(20, 20, 2))), 0.2);
}

TEST(SanitySimilarity, TiesShareTheirAverageRank) {
  // Ranks [1, 2.5, 2.5, 4] against [1, 2, 3, 4]: 4.5 / sqrt(4.5 * 5).
  const at::Tensor x = at::tensor({1.0, 2.0, 2.0, 3.0}, at::kDouble);
  const at::Tensor y = at::tensor({10.0, 20.0, 30.0, 40.0}, at::kDouble);
  EXPECT_NEAR(rank_correlation(x, y), 4.5 / std::sqrt(22.5), 1e-12);
  // A map that is mostly zero (a rectified CAM) against itself plus a tiny monotone change.
  const at::Tensor cam = at::relu(random_map(16, 16, 3) - 0.7);
  EXPECT_NEAR(rank_correlation(cam, cam * 2), 1.0, 1e-12);
}

TEST(SanitySimilarity, ConstantMaps) {
  const at::Tensor flat = at::zeros({8, 8}, at::kDouble);
  EXPECT_EQ(rank_correlation(flat, flat + 1), 1.0);
  EXPECT_EQ(rank_correlation(flat, random_map(8, 8, 4)), 0.0);
  EXPECT_THROW(rank_correlation(flat, at::zeros({3}, at::kDouble)), ArgumentError);
}

// SSIM written out window by window, as in Wang et al. 2004, for an independent check.
double ssim_by_windows(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.abs() / a.abs().max(), y = b.abs() / b.abs().max();
  const int size = 11;
  std::vector<double> g(size);
  double total = 0;
  for (int i = 0; i < size; ++i) total += g[i] = std::exp(-(i - 5.0) * (i - 5.0) / (2 * 1.5 * 1.5));
  auto X = x.accessor<double, 2>();
  auto Y = y.accessor<double, 2>();
  double sum = 0;
  int windows = 0;
  for (int64_t r = 0; r + size <= x.size(0); ++r) {
    for (int64_t c = 0; c + size <= x.size(1); ++c) {
      double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
      for (int i = 0; i < size; ++i) {
        for (int j = 0; j < size; ++j) {
          const double w = g[i] * g[j] / (total * total), u = X[r + i][c + j], v = Y[r + i][c + j];
          mx += w * u, my += w * v, xx += w * u * u, yy += w * v * v, xy += w * u * v;
        }
      }
      const double c1 = 1e-4, c2 = 9e-4;
      const double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
      sum += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      ++windows;
    }
  }
  return sum / windows;
}

TEST(SanitySimilarity, SsimAgainstTheWindowFormula) {
  const at::Tensor a = random_map(15, 17, 5), b = a + 0.3 * random_map(15, 17, 6);
  EXPECT_NEAR(ssim(a, b), ssim_by_windows(a, b), 1e-12);
  EXPECT_NEAR(ssim(a, a), 1.0, 1e-12);
  EXPECT_NEAR(ssim(a, 7 * a), 1.0, 1e-12);  // maps are compared after scaling to [0, 1]
  EXPECT_LT(ssim(a, random_map(15, 17, 7)), 0.5);
  EXPECT_THROW(ssim(at::ones({5, 5}), at::ones({5, 5})), ArgumentError);
}

TEST(SanitySimilarity, HogBinsFollowTheEdgeOrientation) {
  // A horizontal edge has a vertical gradient: orientation 90 degrees, the centre of bin 4 of 9.
  at::Tensor horizontal = at::zeros({32, 32}, at::kDouble);
  horizontal.narrow(0, 16, 16).fill_(1);
  const at::Tensor h = hog(horizontal);
  // 3 x 3 blocks of 2 x 2 cells of 9 bins.
  ASSERT_EQ(h.numel(), 3 * 3 * 2 * 2 * 9);
  const at::Tensor by_bin = h.view({-1, 9}).sum(0);
  EXPECT_GT(by_bin[4].item<double>(), 0);
  EXPECT_NEAR((by_bin.sum() - by_bin[4]).item<double>(), 0.0, 1e-12);
  // A vertical edge: orientation 0, halfway between the centres of bins 8 and 0.
  const at::Tensor by_bin_v = hog(horizontal.t().contiguous()).view({-1, 9}).sum(0);
  EXPECT_NEAR(by_bin_v[0].item<double>(), by_bin_v[8].item<double>(), 1e-12);
  EXPECT_NEAR((by_bin_v.sum() - by_bin_v[0] - by_bin_v[8]).item<double>(), 0.0, 1e-12);
  EXPECT_LT(hog_similarity(horizontal, horizontal.t().contiguous()), 0.0);
  EXPECT_NEAR(hog_similarity(horizontal, 3 * horizontal), 1.0, 1e-12);
  EXPECT_THROW(hog(at::ones({10, 10})), ArgumentError);
}

TEST(SanitySimilarity, CompareMapsSignedAndAbsolute) {
  const at::Tensor a = random_map(24, 24, 8) - 0.5;
  const auto same = compare_maps(a, a);
  EXPECT_NEAR(same.spearman_abs, 1.0, 1e-12);
  EXPECT_NEAR(same.spearman, 1.0, 1e-12);
  EXPECT_NEAR(same.ssim, 1.0, 1e-12);
  EXPECT_NEAR(same.hog, 1.0, 1e-12);
  const auto flipped = compare_maps(a, -a);
  EXPECT_NEAR(flipped.spearman_abs, 1.0, 1e-12);
  EXPECT_NEAR(flipped.spearman, -1.0, 1e-12);
  EXPECT_THROW(compare_maps(a, at::zeros({24, 23})), ArgumentError);
}

}  // namespace
}  // namespace whitebox::test
