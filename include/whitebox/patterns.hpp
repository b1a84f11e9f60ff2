#pragma once
// PatternNet and PatternAttribution (Kindermans et al. 2018): a signal pattern learned from data
// for every linear layer, its storage beside the model, and the rule tables of the reverse sweep
// that use it. See docs/patterns.md.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "whitebox/model.hpp"
#include "whitebox/rules.hpp"

namespace whitebox {

// How a layer's pattern is estimated from its inputs x and outputs y (per output unit):
// Linear: a = cov[x, y] / (w^T cov[x, y]);
// TwoComponent: one pattern per regime, a+ = (E+[x y] - E+[x] E[y]) / w^T(...) over the samples
// with y > 0 (the only one a ReLU lets through), and a- likewise over y <= 0.
enum class PatternEstimator { Linear, TwoComponent };
std::string to_string(PatternEstimator estimator);
// "linear" or "twocomponent" (also "two-component"); throws ArgumentError.
PatternEstimator parse_estimator(const std::string& text);

struct PatternOptions {
  PatternEstimator estimator = PatternEstimator::TwoComponent;
  int64_t limit = 0;  // images read from a folder: the first `limit` by name (0: all)
  int64_t batch = 8;  // images per forward pass
};

// What identifies the model a set of patterns belongs to: per pattern layer, its node name,
// operator and weight shape, and checksums of its weights (compared with a tolerance, so that
// the float32 and float64 imports of one file match).
struct LayerFingerprint {
  std::string node, op;
  std::vector<int64_t> shape;
  double sum = 0, abs_sum = 0, sum_squares = 0, weighted_sum = 0;
};
std::vector<LayerFingerprint> fingerprint(const Model& model);

// The patterns of a model: one per linear layer with a constant weight (Conv, Gemm, MatMul),
// keyed by node name, each in the layout of that layer's weight (float64, on the CPU).
struct Patterns {
  PatternEstimator estimator = PatternEstimator::TwoComponent;
  int64_t images = 0;  // how many images (batch rows) the statistics came from
  std::vector<LayerFingerprint> model;
  std::map<std::string, at::Tensor> by_node;   // linear: a; two-component: a+ (y > 0)
  std::map<std::string, at::Tensor> negative;  // two-component only: a- (y <= 0)
  std::filesystem::path source;                // the folder they were loaded from, for messages

  // A folder: patterns.json (estimator, fingerprint, file of each layer) and one .npy per
  // layer. Throws FileError.
  void save(const std::filesystem::path& folder) const;
  // Throws FileError when the folder or a file is missing or unreadable.
  static Patterns load(const std::filesystem::path& folder);
  // Throws InputError naming the first difference when the patterns were fitted for another
  // model (other layers, shapes or weights).
  void check(const Model& model) const;
};

// "<model file>.patterns", where `whitebox patterns fit` stores them and the methods look.
// Throws ArgumentError for a model that has no file.
std::filesystem::path default_patterns_path(const Model& model);

// Accumulates the statistics of every pattern layer over batches, streaming: sums, not samples.
// Each Conv output channel is one unit observed at every position of every image (its input
// patch there is the sample x).
class PatternFitter {
 public:
  explicit PatternFitter(const Model& model, const PatternOptions& options = {});
  ~PatternFitter();
  PatternFitter(PatternFitter&&) noexcept;
  PatternFitter& operator=(PatternFitter&&) noexcept;

  // A preprocessed batch [N, C, H, W] (moved to the model's device and type).
  void add(const at::Tensor& batch);
  int64_t images() const;
  // The patterns of the statistics so far; throws InputError when nothing was added.
  Patterns patterns() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Patterns fit_patterns(const Model& model, const std::vector<at::Tensor>& batches,
                      const PatternOptions& options = {});
// The images of a folder (whitebox::image_files), preprocessed with the model's preprocessing.
Patterns fit_patterns(const Model& model, const std::filesystem::path& images_folder,
                      const PatternOptions& options = {});

// Rule tables of the reverse sweep: every pattern layer passes the signal back through its
// pattern A (Signal, PatternNet) or through W (.) A (Attribution, PatternAttribution) in place
// of its weight W, with two-component patterns a+ where the layer's output was positive and a-
// elsewhere; every other node keeps its gradient (ReLUs gate as in the gradient).
// Checks the patterns against the model first (InputError).
enum class PatternRule { Signal, Attribution };
Rules pattern_rules(const Model& model, const Patterns& patterns, PatternRule rule);

}  // namespace whitebox
