#pragma once
// Layer-wise relevance propagation: rules for the reverse sweep (lrp_rules.cpp) and composites
// that assign them to the nodes of a model (lrp_composites.cpp). Internal to the methods.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "whitebox/explain.hpp"
#include "whitebox/preprocess.hpp"
#include "whitebox/rules.hpp"

namespace whitebox::explainers::lrp {

// A rule for a linear layer (Conv, Gemm, MatMul with constant weight, average pooling) as data:
// its parts, after Zennit's BasicHook. Every rule is a sum of normalised shares,
//   R_in = sum_s c_s sum_t a_t x_t (.) W_t^T (R / stabilize(z_s))   on the region of share s,
// where each term t pairs an input part x_t with a weight part W_t, and z_s, the share's
// denominator, is the layer rerun on its terms plus the share's bias parts: z_s equals the
// forward value of the numerator's terms, though it may be written with other products (the
// gamma rule reads one share's denominator off the other's). One evaluator runs every rule with
// the layer's own geometry (ops::LinearForm), computing each product once, keeping the modified
// weights of constant layers with the model and sharing transposed passes between terms.
enum class InputPart { X, Positive, Negative, Ones, Low, High };   // x, x+, x-, 1, box bounds
enum class WeightPart { Full, Positive, Negative, Square, Ones };  // W, W+, W-, W^2, 1
enum class BiasPart { Full, Positive, Negative };                  // b, b+, b-
enum class Region {
  Everywhere,
  PositiveOutput,
  NegativeOutput
};  // where z = W x (+ b) is > 0, < 0

struct Term {
  double coefficient;
  InputPart input;
  WeightPart weight;
};
struct BiasTerm {
  double coefficient;
  BiasPart part;
};
struct Share {
  double coefficient = 1.0;
  std::vector<Term> numerator;
  std::vector<Term> denominator;  // empty: the numerator's
  std::vector<BiasTerm> bias;     // in the denominator when Options::bias is Absorb
  Region region = Region::Everywhere;
};

// Written by name (rule_syntax() lists them). Gamma and z+ are the generalized rules (Andeol et
// al. 2021), which hold for inputs and outputs of either sign.
struct LinearRule {
  std::string text;  // as written, for messages
  std::vector<Share> shares;
  std::optional<double> epsilon;  // the stabiliser: this, else Options::stabilizer
};
LinearRule zero_rule();
LinearRule epsilon_rule(double epsilon);
LinearRule gamma_rule(double gamma);
LinearRule alpha_beta_rule(double alpha, double beta);
LinearRule zbox_rule();
LinearRule wsquare_rule();
LinearRule flat_rule();
// Throws ArgumentError on unknown names, malformed or out-of-range numbers.
LinearRule parse_rule(const std::string& text);
// The rules parse_rule() reads, as a user writes them: "0, epsilon[:eps], gamma[:g], ...".
std::string rule_syntax();

enum class Bias { Ignore, Absorb };
enum class MaxPoolRule { Winner, Proportional };

struct Options {
  Bias bias = Bias::Ignore;
  MaxPoolRule maxpool = MaxPoolRule::Winner;
  // Added to every denominator but the epsilon rule's, with the denominator's sign (sign(0) =
  // +1); 0: exact, and relevance reaching a unit whose denominator is 0 is dropped.
  double stabilizer = 0.0;
  double sum_epsilon = 0.0;  // stabilizer of the residual (Sum) split; 0: exact, z = 0 drops R
};

// R / (z + eps sign(z)) with sign(0) = +1; with eps = 0, R / z where z != 0 and 0 where z = 0
// (that relevance is then absorbed, and shows up in the "absorbed" statistic).
at::Tensor divide(const at::Tensor& r, const at::Tensor& z, double eps);

// A rule with the forward values it reads of its node.
struct NodeRule {
  Rule rule;
  Reads reads;
};

// The rule of one linear node. zB reads the pixel bounds from the model's preprocessing; the
// modified weights of constant ones stay with the model (Model::derived). The rule refers to
// `model`, which must outlive it.
NodeRule linear_rule(const LinearRule& rule, const Options& options, const Model& model);
// The positive (or negative) part of the weight w, the graph's value `weight`: made once per
// model when that is a constant (Model::derived), on every call otherwise.
at::Tensor signed_weight(const Model& model, ValueId weight, const at::Tensor& w, bool positive);
// Rules for the non-linear nodes: activations pass relevance unchanged, Sum splits it by the
// inputs' shares, Mul by a gate passes it to the gated input, BatchNormalization and constant
// Add/Sub/Mul/Div act as element-wise linear layers, ReduceMean / ReduceSum as LRP-0 layers,
// MaxPool per `options.maxpool`. Returns
// nullopt when the op keeps its exact VJP (shape operators: Concat, Split, Reshape, ...); for any
// other op, a rule that throws ArgumentError naming the node when relevance reaches it.
std::optional<NodeRule> structural_rule(const Model& model, int node, const Options& options);

// Which linear rules a composite assigns: by layer kind ("conv", "dense", "pool"), by position
// ("first", "last": the first and last linear layers in topological order) and by node name.
// Precedence: node name, then position, then kind.
struct Mapping {
  std::map<std::string, LinearRule> kinds, names;
  std::optional<LinearRule> first, last;
};

// Parses "conv=gamma:0.25;dense=epsilon:1e-6;first=zb" onto `mapping` (entries replace earlier
// ones). Keys: conv, dense (also gemm, linear, matmul), pool (also avgpool), first, last, or the
// name of a node of `graph`. Throws ArgumentError.
void parse_mapping(const std::string& text, const Graph& graph, Mapping& mapping);
// Preset composites by name; throws LookupError listing them.
Mapping preset(const std::string& name, const Graph& graph);
std::vector<std::string> preset_names();

// The rule table of a mapping for a model. A node without a rule fails with ArgumentError
// naming it when relevance reaches it.
Rules composite_rules(const Model& model, const Mapping& mapping, const Options& options);

// The rule table that params choose: the preset params "composite", the entries of params "rule"
// over it, and the options of options_from().
Rules rules_for(const Model& model, const Params& params);

// The hyper-parameters of a composite's method: composite (this preset), rule, bias (this
// default), maxpool, stabilizer, sum_epsilon, initial, convention.
std::vector<Hyperparameter> hyperparameters(const std::string& composite, const std::string& bias);

// The value of an LRP parameter (bias, initial, stabilizer or sum_epsilon): given, else the
// default of params "convention": the declared one (whitebox), or zennit's (bias absorb,
// initial one, stabilizer and sum_epsilon 1e-6).
std::string setting(const Params& params, const std::string& name);

// Options from params "bias" (ignore|absorb), "maxpool" (winner|proportional), "stabilizer",
// "sum_epsilon", under params' convention.
Options options_from(const Params& params);

}  // namespace whitebox::explainers::lrp
