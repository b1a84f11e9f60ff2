#pragma once
// Concepts: what the network saw, in terms of its own channels. Concept relevance propagation
// (Achtibat et al. 2023) conditions a relevance method's sweep on channels of hidden layers:
// each channel's share of the decision, and its own map over the input (docs/concepts.md).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox {

// Channels of one layer through which a conditional sweep lets relevance pass.
struct Condition {
  std::string layer;  // a value or node name (Graph::resolve)
  std::vector<int64_t> channels;
};

struct ConceptOptions {
  std::string method = "lrp";  // a method concept_methods() lists
  Params params;               // its hyper-parameters
  // Conditions on layers after the concepts' layer, from the output down: the relevance
  // reaching each goes on from its channels only (the lower-layer concepts of an upper one).
  std::vector<Condition> conditions;
  // The channels whose conditional maps are computed: these, else the `top` most relevant
  // (every channel with top = 0).
  std::vector<int64_t> channels;
  int64_t top = 8;
  bool maps = true;    // false: the channels' relevance and ranking only, one sweep
  int64_t batch = 16;  // conditional maps per sweep (each holds a forward trace)
};

// The concepts of one image at one layer.
struct Concepts {
  std::string method;  // canonical name
  std::string layer;   // the layer's value name
  int64_t target = 0;
  double seed = 0;  // the relevance put in at the output (the target logit, or 1)
  // Each channel's relevance at the layer, summed over its positions, over `magnitude`: its
  // share of the relevance that reaches the layer. [C], float64 on the CPU.
  at::Tensor relevance;
  // The sum of the channels' |relevance| (relevance * magnitude is in the seed's units); it is
  // less than |seed| where rules absorb relevance or paths bypass the layer.
  double magnitude = 0;
  std::vector<int64_t> channels;  // the mapped channels, most relevant first unless given
  // Input relevance conditioned on each channel [k, C, H, W] and its map [k, H, W] (summed over
  // colour channels); undefined with maps = false.
  at::Tensor attributions;
  at::Tensor maps;
};

// Concept relevance of one image [1, C, H, W] at `layer` for its target. Only relevance that
// flows through `layer` (and the conditions' channels) reaches the maps: where every path from
// the output to the input crosses the layer, the maps of all its channels sum to the method's
// own map. Throws ArgumentError (a method without a relevance sweep, a channel out of range,
// conditions out of order), LookupError (an unknown layer), InputError.
Concepts concepts(const Model& model, const at::Tensor& image, const std::string& layer,
                  const Target& target = Target::top(), const ConceptOptions& options = {});

// The methods concepts() can condition: those with a RelevanceSweep, in taxonomy order.
std::vector<std::string> concept_methods();

// A concept of an attribution graph: a channel and its share of the decision under the
// conditions of its ancestors.
struct ConceptNode {
  std::string layer;
  int64_t channel = 0;
  double relevance = 0;  // its share (Concepts::relevance) under its ancestors' conditions
  int parent = -1;  // index of the concept it makes up, -1 at the first layer
  at::Tensor map;   // [H, W], conditioned on the concept and its ancestors (with options.maps)
};

// Hierarchical concepts over `layers` (from the output down): the `top` most relevant channels
// of the first layer (or options.channels), then under each the `subtop` most relevant of the
// next layer conditioned on it (and on its ancestors), and so on. Parents come before their
// children.
std::vector<ConceptNode> concept_graph(const Model& model, const at::Tensor& image,
                                       const std::vector<std::string>& layers,
                                       const Target& target, const ConceptOptions& options,
                                       int64_t subtop);

// Reference examples (docs/concepts.md): the score of activation maximization, each channel's
// largest value over the positions of `layer` for one image [1, C, H, W], [C] on the CPU (the
// forward pass stops at the layer); and the patch a conditional map [H, W] points to, the square
// window {x0, y0, x1, y1} of side `fraction` of the map's shorter side centred on the peak of its
// positive part smoothed over the window, clipped to the map.
at::Tensor channel_peaks(const Model& model, const at::Tensor& image, const std::string& layer);
std::vector<int64_t> patch_box(const at::Tensor& map, double fraction);

// A reference example in a concept index (`whitebox concepts-index`, Python's concept_index):
// an image of the data set, its score, and the file of the patch its conditional map points to.
struct ConceptReference {
  std::string image;
  double value = 0;
  std::filesystem::path patch;
};

// Each channel's reference examples of `layer` (a value or node name), best first, by
// "relevance" or "activation", from the index in `folder`. Throws FileError where the folder
// holds no index, ArgumentError for an index of another model or without the layer.
std::vector<std::vector<ConceptReference>> concept_references(const std::filesystem::path& folder,
                                                              const Model& model,
                                                              const std::string& layer,
                                                              const std::string& ranking = "relevance");

}  // namespace whitebox
