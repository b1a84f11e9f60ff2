// LRP composites (which rule each layer gets) and the relevance methods of the registry.
#include <ATen/ATen.h>

#include <algorithm>

#include "methods/arguments.hpp"
#include "methods/lrp.hpp"
#include "methods/methods.hpp"
#include "methods/parameters.hpp"
#include "ops/kernel.hpp"
#include "ops/program.hpp"
#include "whitebox/error.hpp"

namespace whitebox::explainers::lrp {
namespace {

// The layer kind of a linear node, or "" for other nodes. MaxPool has a linear stand-in (window
// sums) but is not a layer that composites assign rules to.
std::string kind_of(const Model& model, int node) {
  if (!model.program().kernel(node).linear()) return "";
  switch (ops::traits(model.graph().nodes[node]).layer) {
    case ops::Layer::Convolution: return "conv";
    case ops::Layer::Dense: return "dense";
    case ops::Layer::AveragePool:
    case ops::Layer::GlobalAveragePool: return "pool";
    default: return "";
  }
}

std::string canonical_kind(const std::string& key) {
  if (key == "conv") return "conv";
  if (key == "dense" || key == "gemm" || key == "linear" || key == "matmul") return "dense";
  if (key == "pool" || key == "avgpool") return "pool";
  return "";
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

struct Preset {
  const char* name;
  const char* mapping;
};

// Pooling layers default to LRP-0 (their weights are positive, so z+ and LRP-0 coincide on
// non-negative inputs) unless a mapping names "pool".
const Preset kPresets[] = {
    {"epsilon-plus", "conv=zplus;dense=epsilon"},
    {"epsilon-plus-flat", "conv=zplus;dense=epsilon;first=flat"},
    {"epsilon-gamma-box", "conv=gamma:0.25;dense=epsilon;first=zb"},
    {"epsilon-alpha2-beta1", "conv=alphabeta:2:1;dense=epsilon"},
    {"epsilon-alpha2-beta1-flat", "conv=alphabeta:2:1;dense=epsilon;first=flat"},
    {"lrp-0", "conv=0;dense=0"},
    {"lrp-epsilon", "conv=epsilon;dense=epsilon"},
    {"deep-taylor", "conv=zplus;dense=zplus;first=zb"},
};

}  // namespace

void parse_mapping(const std::string& text, const Graph& graph, Mapping& mapping) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(';', start), text.size());
    const std::string entry = trim(text.substr(start, end - start));
    start = end + 1;
    if (entry.empty()) {
      if (end == text.size()) break;
      continue;
    }
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
      throw ArgumentError("malformed LRP rule mapping entry '" + entry +
                          "' (expected KEY=RULE, e.g. conv=gamma:0.25)");
    }
    const std::string key = trim(entry.substr(0, eq));
    const LinearRule rule = parse_rule(trim(entry.substr(eq + 1)));
    if (key == "first") {
      mapping.first = rule;
    } else if (key == "last") {
      mapping.last = rule;
    } else if (const std::string kind = canonical_kind(key); !kind.empty()) {
      mapping.kinds[kind] = rule;
    } else if (std::any_of(graph.nodes.begin(), graph.nodes.end(),
                           [&](const Node& n) { return n.name == key; })) {
      mapping.names[key] = rule;
    } else {
      throw ArgumentError("unknown LRP layer kind or node '" + key +
                          "' (valid: conv, dense, gemm, linear, matmul, pool, avgpool, first, "
                          "last, or a node name)");
    }
  }
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

Mapping preset(const std::string& name, const Graph& graph) {
  for (const auto& p : kPresets) {
    if (name == p.name) {
      Mapping mapping;
      parse_mapping(p.mapping, graph, mapping);
      return mapping;
    }
  }
  std::string valid;
  for (const auto& n : preset_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw LookupError("unknown LRP composite '" + name + "' (valid: " + valid + ")");
}

std::string setting(const Params& params, const std::string& name) {
  // Zennit's conventions: biases in every z, relevance 1 put in at the target, and every
  // denominator stabilised by 1e-6 (its rules' default), the residual sums' as well.
  static const std::map<std::string, std::string> zennit = {
      {"bias", "absorb"}, {"initial", "one"}, {"stabilizer", "1e-6"}, {"sum_epsilon", "1e-6"}};
  if (params.has(name) || params.text("convention") == "whitebox") return params.text(name);
  return zennit.at(name);
}

Options options_from(const Params& params) {
  Options options;
  const std::string bias = setting(params, "bias");
  if (bias == "ignore") {
    options.bias = Bias::Ignore;
  } else if (bias == "absorb") {
    options.bias = Bias::Absorb;
  } else {
    throw ArgumentError("parameter bias='" + bias + "' must be ignore or absorb");
  }
  const std::string maxpool = params.text("maxpool");
  if (maxpool == "winner") {
    options.maxpool = MaxPoolRule::Winner;
  } else if (maxpool == "proportional") {
    options.maxpool = MaxPoolRule::Proportional;
  } else {
    throw ArgumentError("parameter maxpool='" + maxpool + "' must be winner or proportional");
  }
  const auto number = [&](const std::string& name) {
    return Params().set(name, setting(params, name)).number(name);
  };
  options.stabilizer = number("stabilizer");
  options.sum_epsilon = number("sum_epsilon");
  return options;
}

Rules composite_rules(const Model& model, const Mapping& mapping, const Options& options) {
  const Graph& graph = model.graph();
  int first = -1, last = -1;
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    if (kind_of(model, i).empty()) continue;
    if (first < 0) first = i;
    last = i;
  }
  Rules rules;
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    const Node& node = graph.nodes[i];
    const std::string kind = kind_of(model, i);
    if (kind.empty()) {
      if (std::optional<NodeRule> rule = structural_rule(model, i, options)) {
        rules.by_node(i, rule->rule, rule->reads);
      }
      continue;
    }
    std::optional<LinearRule> chosen;
    if (auto it = mapping.names.find(node.name); it != mapping.names.end()) {
      chosen = it->second;
    } else if (i == first && mapping.first) {
      chosen = mapping.first;
    } else if (i == last && mapping.last) {
      chosen = mapping.last;
    } else if (auto k = mapping.kinds.find(kind); k != mapping.kinds.end()) {
      chosen = k->second;
    } else if (kind == "pool") {
      chosen = zero_rule();
    }
    if (chosen) {
      const NodeRule rule = linear_rule(*chosen, options, model);
      rules.by_node(i, rule.rule, rule.reads);
    } else {
      const std::string name = node.name, op = node.op_type;
      rules.by_node(
          i,
          [name, op, kind](const NodeContext&, const Tensors&) -> Tensors {
            throw ArgumentError("LRP: no rule for node '" + name + "' (" + op +
                                "): the composite assigns none to kind '" + kind + "'");
          },
          Reads{false, false});
    }
  }
  return rules;
}

Rules rules_for(const Model& model, const Params& params) {
  const Options options = options_from(params);
  Mapping mapping = preset(params.text("composite"), model.graph());
  if (params.has("rule")) parse_mapping(params.text("rule"), model.graph(), mapping);
  return composite_rules(model, mapping, options);
}

namespace {

// The sweep of a composite: its rule table from the target's relevance, the target logit itself
// or 1 (initial=one).
RelevanceSweep relevance_sweep(const Context& c) {
  const std::string initial = setting(c.params, "initial");
  if (initial != "logit" && initial != "one") {
    throw ArgumentError("parameter initial='" + initial + "' must be logit or one");
  }
  at::Tensor seed = target_one_hot(c);
  if (initial == "logit") seed = seed * c.trace[c.model.output()];
  return {rules_for(c.model, c.params), seed};
}

Explanation run(const Context& c) {
  const RelevanceSweep sweep = relevance_sweep(c);
  Explanation e;
  e.attribution =
      sweep_finite(c, {{c.model.output(), sweep.seed}}, {c.model.input()}, sweep.rules)[0];
  e.map = e.attribution.sum(1);
  e.is_signed = true;
  const double total_seed = sweep.seed.sum().item<double>();
  const double total = e.attribution.sum().item<double>();
  e.stats["conservation"] = total_seed != 0.0 ? total / total_seed : 0.0;
  e.stats["absorbed"] = total_seed - total;
  return e;
}

std::string composite_list() {
  std::string list;
  for (const auto& n : preset_names()) list += (list.empty() ? "" : ", ") + n;
  return list;
}

}  // namespace

std::vector<Hyperparameter> hyperparameters(const std::string& composite, const std::string& bias) {
  return {
      {"composite", composite, "preset: " + composite_list()},
      {"rule", "",
       "per-layer rules over the composite: KEY=RULE;... with KEY conv, dense, pool, "
       "first, last or a node name, RULE " +
           rule_syntax()},
      choice_parameter("bias", bias,
                       "ignore (relevance conserved) or absorb (biases take their share)",
                       {"ignore", "absorb"}),
      choice_parameter("maxpool", "winner",
                       "winner (gradient routing) or proportional (window z-rule)",
                       {"winner", "proportional"}),
      number_parameter("stabilizer", "0",
                       "added to every denominator but the epsilon rule's, with its sign; 0: "
                       "exact, relevance of a unit whose denominator is 0 is dropped",
                       0),
      number_parameter("sum_epsilon", "0", "stabilizer of the residual Sum split", 0),
      choice_parameter("initial", "logit",
                       "relevance put in at the target: logit (the target logit) or one",
                       {"logit", "one"}),
      choice_parameter("convention", "whitebox",
                       "whitebox, or zennit: Zennit's defaults for bias (absorb), initial (one), "
                       "stabilizer and sum_epsilon (1e-6)",
                       {"whitebox", "zennit"})};
}

}  // namespace whitebox::explainers::lrp

namespace whitebox::explainers {

void add_relevance_methods(std::vector<MethodInfo>& registry) {
  const std::string summary_tail =
      " Linear layers (Conv, Gemm, MatMul with constant weights, average pooling) use the "
      "composite's rules in the modified-gradient form R_in = x (.) W'^T (R_out / z'); "
      "element-wise activations pass relevance unchanged; a residual Sum splits it by the "
      "inputs' shares; a Mul by a sigmoid or per-channel gate passes it all to the gated input; "
      "BatchNormalization and constant Add/Sub/Mul/Div are element-wise linear layers; Concat, "
      "Split and reshapes route it by their gradient; MaxPool passes it to the winner "
      "(maxpool=winner) or in proportion to the window's inputs (maxpool=proportional). "
      "Biases are ignored (bias=ignore: every layer conserves relevance, so sum R_in equals the "
      "target logit up to relevance dropped where z = 0) or absorbed (bias=absorb: biases keep "
      "their share). alphabeta: R = alpha R+ - beta R-, R+ from the positive products x+W+ and "
      "x-W-, R- from x+W- and x-W+, each normalised by its own total; zplus is alpha 1, beta 0; "
      "gamma (generalized): where z > 0, x+(W + gW+) + x-(W + gW-), where z < 0, x+(W + gW-) + "
      "x-(W + gW+); zb uses the pixel bounds of the model's preprocessing. convention=zennit "
      "gives Zennit's maps (bias absorb, initial one, stabilizer and sum_epsilon 1e-6). A "
      "signal that stops being finite is an error naming the node. stats: conservation = sum "
      "R_in / initial relevance, absorbed = initial relevance - sum R_in.";
  const std::string citation =
      "Bach, Binder, Montavon, Klauschen, Mueller, Samek. On Pixel-Wise Explanations for "
      "Non-Linear Classifier Decisions by Layer-Wise Relevance Propagation. PLoS ONE 2015; "
      "Montavon, Binder, Lapuschkin, Samek, Mueller. Layer-Wise Relevance Propagation: An "
      "Overview. 2019; Kohlbrenner et al. Towards Best Practice in Explaining Neural Network "
      "Decisions with LRP. IJCNN 2020";
  // LRP-0 and LRP-epsilon absorb biases by default: with biases ignored their z (without the
  // bias) nearly cancels at many units of a biased network, and the relevances grow to ~1e8 with
  // opposite signs. The z+ / alpha-beta / box composites are stable either way.
  auto add = [&](std::string name, std::vector<std::string> aliases, std::string summary,
                 std::string composite, std::string cite, std::string bias = "ignore") {
    const std::vector<Hyperparameter> params = lrp::hyperparameters(composite, bias);
    registry.push_back({.name = name,
                        .aliases = aliases,
                        .family = Family::Relevance,
                        .summary = summary + summary_tail,
                        .class_discriminative = true,
                        .needs_gradient = false,
                        .needs_reference = false,
                        .resolution = Resolution::Input,
                        .cost = "1 forward + 1 modified backward",
                        .hyperparameters = params,
                        .citation = cite,
                        .run = lrp::run,
                        .relevance_sweep = lrp::relevance_sweep});
    registry.back().scheduling.trace_reads = [](const Model& model, const Params& params) {
      return lrp::rules_for(model, params).values_read(model.graph());
    };
  };
  add("lrp", {"lrp-epsilon-plus-flat"},
      "layer-wise relevance propagation: the target logit redistributed layer by layer onto the "
      "pixels by a composite of rules.",
      "epsilon-plus-flat", citation);
  // One entry per other preset, so that each is named in results and the taxonomy.
  for (const auto& n : lrp::preset_names()) {
    if (n == "epsilon-plus-flat" || n == "lrp-0" || n == "lrp-epsilon" || n == "deep-taylor") continue;
    add("lrp-" + n, {}, "LRP with the " + n + " composite.", n, citation);
  }
  add("lrp-0", {"lrp0"}, "LRP-0 on every layer (with the default bias=absorb: gradient x input on ReLU "
      "networks).", "lrp-0", citation, "absorb");
  add("lrp-epsilon", {}, "LRP-epsilon (eps 1e-6) on every layer.", "lrp-epsilon", citation, "absorb");
  add("deep-taylor", {"deep-taylor-decomposition"},
      "deep Taylor decomposition: z+ on hidden layers, the zB (box) rule on the first layer.",
      "deep-taylor",
      "Montavon, Lapuschkin, Binder, Samek, Mueller. Explaining Nonlinear Classification "
      "Decisions with Deep Taylor Decomposition. Pattern Recognition 2017");
  add_neuron_lrp_method(registry);
}

}  // namespace whitebox::explainers
