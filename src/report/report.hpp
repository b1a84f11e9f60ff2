#pragma once
// The comparison report's content, as compare() (report/compare.cpp) fills it and
// render_report() draws it: one self-contained HTML page (pictures as data URIs, plots as inline
// SVG, no network).
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox::report {

// A column of the metrics table.
struct ReportMetric {
  std::string key;    // "deletion_auc"
  std::string title;  // "Deletion AUC"
  std::string help;   // one sentence: what it measures
  bool higher_is_better = true;
  int digits = 3;
};

struct ReportCurve {
  std::vector<double> fraction, score;  // mean over the images
  double auc = 0;
};

struct ReportHyperparameter {
  std::string name, value, fallback, meaning;
};

struct ReportMethod {
  std::shared_ptr<const MethodInfo> info;  // with a wrapper's facts from its base (facts())
  std::vector<ReportHyperparameter> hyperparameters;   // with the values used
  std::map<std::string, std::vector<double>> values;   // metric key -> one value per image
  ReportCurve deletion, insertion;
};

// One concept of an image: a channel of the concept layer, its share of the relevance there and
// its conditional map drawn over the input.
struct ReportConcept {
  int64_t channel = 0;
  double share = 0;
  std::string overlay;                  // PNG data URI
  std::vector<std::string> references;  // PNG data URIs of its reference patches, best first
};

struct ReportImage {
  std::string name;                   // file name
  std::string label;                  // predicted (or chosen) class
  int64_t cls = 0;
  double score = 0;                   // its softmax probability
  std::string photo;                  // PNG data URI of the network input
  std::vector<std::string> overlays;  // PNG data URIs, one per method, in method order
  std::vector<ReportConcept> concepts;  // most relevant first
};

struct Report {
  std::string title;
  std::string model;                          // file name
  std::vector<std::pair<std::string, std::string>> settings;  // shown as "key: value"
  std::vector<ReportMetric> metrics;
  std::vector<ReportMethod> methods;
  std::vector<ReportImage> images;
  std::string concept_layer, concept_method;  // empty: no concept section
};

// The page. Everything the user supplied is HTML-escaped.
std::string render_report(const Report& report);

// A [H, W, 3] uint8 RGB picture as a "data:image/png;base64,..." URI.
std::string png_data_uri(const at::Tensor& rgb);

}  // namespace whitebox::report
