// whitebox methods: the taxonomy of the registered methods, as a table, one method in full, or
// docs/methods.md (generated here so that the documentation cannot drift from the registry).
#include <algorithm>
#include <cctype>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>

#include "commands.hpp"
#include "unicode_math.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"

namespace whitebox::cli {
namespace {

// Marks a method without hand-written mathematics; a test fails while the marker is in the output.
constexpr std::string_view kNoMath =
    "No formula written yet: add one to src/methods/mathematics.inc.";

std::string_view math_of(const std::string& name) {
  const std::string_view text = mathematics(name);
  return text.empty() ? kNoMath : text;
}

// What every method of a family shares (the LRP rules, for instance); may be empty.
std::string_view family_math(Family family) { return mathematics("family:" + to_string(family)); }

constexpr Family kFamilies[] = {Family::BlackBox, Family::Gradient, Family::Relevance, Family::Cam};

std::string_view family_title(Family family) {
  switch (family) {
    case Family::BlackBox: return "Black-box methods";
    case Family::Gradient: return "Gradient methods";
    case Family::Relevance: return "Relevance (decomposition) methods";
    case Family::Cam: return "Class activation maps (CAM)";
  }
  return "?";
}

std::string_view family_blurb(Family family) {
  switch (family) {
    case Family::BlackBox:
      return "The model is an oracle: the input is perturbed, only the output is observed, and "
             "nothing inside the network is read. whitebox has them as references to compare the "
             "white-box methods with.";
    case Family::Gradient:
      return "The derivative of the class score with respect to the input, obtained by one "
             "reverse sweep through the network; variants modify the backward pass at ReLU-like "
             "nodes (guided backpropagation, deconvnet), integrate it along a path (integrated "
             "gradients) or average it over noisy copies of the input (SmoothGrad and its "
             "relatives, which wrap any registered method). Captum's layer and neuron forms "
             "attribute the class score to the units of a hidden layer (`layer-*`: an "
             "attribution per unit, $K \\times h \\times w$) or one unit's value, in place of "
             "the class score, to the pixels (`neuron-*`).";
    case Family::Relevance:
      return "The class score is decomposed into contributions of the inputs by a backward pass "
             "with conservation rules: layer-wise relevance propagation and deep Taylor "
             "decomposition (rules chosen per layer by a composite), excitation backprop "
             "(probabilities), DeepLIFT (differences from a reference input) and PatternNet / "
             "PatternAttribution (signal patterns learned from data). In whitebox each is a rule "
             "table for the model's reverse sweep.";
    case Family::Cam:
      return "A weighted sum of the feature maps $A^k$ of one convolutional layer (by default the "
             "last spatial one, just before global pooling), at that layer's resolution; the "
             "methods differ in the weights: the classifier's weights, gradients, or the model's "
             "response to masked inputs or ablated channels. The map $L$ is returned as the "
             "attribution ($h \\times w$) and upsampled, $M = \\mathrm{Up}(L)$. With "
             "`layer=a,b` the maps of several layers are each divided by their maximum $|L|$, "
             "upsampled and averaged.";
  }
  return "";
}

// Registry texts are phrases; the documentation's prose wants sentences.
std::string sentence(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  if (!text.empty() && text.back() != '.') text += '.';
  return text;
}

std::string yes_no(bool value) { return value ? "yes" : "no"; }

std::string joined(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

std::string aliases_of(const MethodInfo& m) { return m.aliases.empty() ? "-" : joined(m.aliases); }

std::vector<const MethodInfo*> of_family(Family family) {
  std::vector<const MethodInfo*> found;
  for (const auto& m : methods()) {
    if (m.family == family) found.push_back(&m);
  }
  return found;
}

// Pipes would end a markdown table cell.
std::string cell(const std::string& text) {
  std::string escaped;
  for (char ch : text) escaped += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return escaped;
}

// Words wrapped to `width` columns, every line after the first indented by `indent` spaces.
std::string wrapped(const std::string& text, size_t indent, size_t width = 100) {
  std::string out, line;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

// ---- plain text --------------------------------------------------------------------------------

void print_table() {
  std::vector<std::vector<std::string>> rows;
  const std::vector<std::string> header = {"method", "aliases", "class", "gradient", "reference",
                                           "resolution", "cost"};
  std::vector<size_t> widths(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& m : methods()) {
    const std::vector<std::string> row = {m.name,
                                          aliases_of(m),
                                          yes_no(m.class_discriminative),
                                          yes_no(m.needs_gradient),
                                          yes_no(m.needs_reference),
                                          to_string(m.resolution),
                                          m.cost};
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  const auto line = [&](const std::vector<std::string>& row) {
    std::ostringstream text;
    for (size_t i = 0; i < row.size(); ++i) {
      text << "  " << std::left << std::setw(static_cast<int>(i + 1 < row.size() ? widths[i] : 0)) << row[i];
    }
    std::string s = text.str();
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::cout << s << "\n";
  };
  std::cout << "Black box or white box, and white box by implementation (Ayyar, Benois-Pineau, "
               "Zemmari 2021).\n"
               "class: class-discriminative; gradient / reference: needs the gradient / a "
               "baseline input; resolution: of the raw attribution.\n";
  for (Family family : kFamilies) {
    const auto members = of_family(family);
    std::cout << "\n" << to_string(family) << " (" << members.size() << ")\n";
    if (members.empty()) {
      std::cout << "  none registered yet\n";
      continue;
    }
    line(header);
    for (const MethodInfo* m : members) {
      line({m->name, aliases_of(*m), yes_no(m->class_discriminative), yes_no(m->needs_gradient),
            yes_no(m->needs_reference), to_string(m->resolution), m->cost});
    }
  }
  std::cout << "\n'whitebox methods NAME' shows one method in full; 'whitebox methods --markdown' "
               "writes docs/methods.md.\n"
            << std::flush;
}

void print_method(const MethodInfo& m) {
  constexpr size_t indent = 22;
  const auto field = [&](const std::string& name, const std::string& value) {
    std::cout << std::left << std::setw(static_cast<int>(indent)) << name << wrapped(value, indent) << "\n";
  };
  std::cout << m.name << "\n\n";
  field("family", to_string(m.family));
  field("aliases", aliases_of(m));
  field("summary", m.summary);
  field("class-discriminative", yes_no(m.class_discriminative));
  field("needs gradient", yes_no(m.needs_gradient));
  field("needs reference", yes_no(m.needs_reference));
  field("resolution", to_string(m.resolution));
  field("cost", m.cost);
  field("citation", m.citation);
  std::cout << "\nhyper-parameters (explain --param NAME=VALUE)\n";
  if (m.hyperparameters.empty()) std::cout << "  none\n";
  for (const auto& h : m.hyperparameters) {
    const std::string setting = h.name + "=" + h.fallback;
    // A long setting gets the meaning on the next line, aligned with the others.
    const std::string gap = setting.size() + 4 > indent ? "\n" + std::string(indent, ' ')
                                                        : std::string(indent - 2 - setting.size(), ' ');
    const std::string takes =
        h.type == Hyperparameter::Type::Text ? "" : " (takes " + h.describe() + ")";
    std::cout << "  " << setting << gap << wrapped(h.meaning + takes, indent) << "\n";
  }
  std::cout << "\nmathematics (notation: docs/methods.md)\n";
  // The family's shared text is the LRP rules: for the methods that take a rule mapping.
  const bool takes_rules = std::any_of(m.hyperparameters.begin(), m.hyperparameters.end(),
                                       [](const Hyperparameter& h) { return h.name == "rule"; });
  std::string text(takes_rules ? family_math(m.family) : std::string_view());
  // Read on a terminal: Unicode, not LaTeX (which --markdown keeps for docs/methods.md).
  std::istringstream math{
      unicode_math((text.empty() ? "" : text + "\n\n") + std::string(math_of(m.name)))};
  for (std::string line; std::getline(math, line);) std::cout << (line.empty() ? "" : "  ") << line << "\n";
  std::cout << std::flush;
}

// ---- markdown ----------------------------------------------------------------------------------

// GitHub heading anchors: lower case, spaces to '-', other punctuation dropped, and "-1", "-2"
// appended to repeats ("gradcam++" after "gradcam" is "gradcam-1").
class Anchors {
 public:
  std::string operator()(const std::string& heading) {
    std::string id;
    for (char ch : heading) {
      if (std::isalnum(static_cast<unsigned char>(ch))) id += static_cast<char>(std::tolower(ch));
      else if (ch == ' ' || ch == '-' || ch == '_') id += ch == ' ' ? '-' : ch;
    }
    const int seen = count_[id]++;
    return seen ? id + "-" + std::to_string(seen) : id;
  }

 private:
  std::map<std::string, int> count_;
};

// The anchor of every method's heading, in the order the headings appear in the document.
std::map<std::string, std::string> method_anchors() {
  Anchors anchors;
  for (const char* heading : {"Methods", "Overview", "Notation"}) anchors(heading);
  std::map<std::string, std::string> by_method;
  for (Family family : kFamilies) {
    anchors(std::string(family_title(family)));
    for (const MethodInfo* m : of_family(family)) by_method[m->name] = anchors(m->name);
  }
  return by_method;
}

void print_markdown() {
  std::ostream& out = std::cout;
  const auto anchor = method_anchors();
  out << "# Methods\n\n"
         "<!-- Generated by `whitebox methods --markdown` from the method registry (src/methods/) "
         "and src/methods/mathematics.inc. Do not edit: regenerate with\n"
         "     build/apps/whitebox/whitebox methods --markdown > docs/methods.md -->\n\n";
  out << "whitebox organises its methods by the taxonomy of Ayyar, Benois-Pineau and Zemmari, "
         "*Review of white box methods for explanations of convolutional neural networks in image "
         "classification tasks* (Journal of Electronic Imaging 30(5), 2021). The first division is "
         "by what a method may look at:\n\n"
         "- **black box**: the model is only evaluated, on perturbed inputs (occlusion, RISE);\n"
         "- **white box**: the method reads the network's internals: its activations, weights "
         "and the derivatives that flow through it.\n\n"
         "White-box methods are then divided by how they are implemented:\n\n"
         "- **gradient**: backpropagate the derivative of the class score to the input, possibly "
         "modified on the way (guided backpropagation, deconvnet), integrated along a path or "
         "averaged over noise;\n"
         "- **relevance** (decomposition): redistribute the class score backwards, layer by layer, "
         "with conservation rules;\n"
         "- **CAM**: combine the feature maps of one convolutional layer with per-channel (or "
         "per-position) weights; coarse, but class-discriminative.\n\n"
         "Every method is one entry of the registry (`whitebox::methods()`); `whitebox methods` "
         "prints the same information in the terminal and `whitebox explain --method NAME "
         "--param KEY=VALUE` runs a method with its hyper-parameters.\n\n";

  out << "## Overview\n\n"
         "*class-discriminative*: the map changes with the target class. *gradient* / "
         "*reference*: the method needs the gradient / a baseline input. *resolution*: of the raw "
         "attribution (`input` pixels, or the CAM `layer`); every method also returns a map over "
         "the input pixels.\n\n"
         "| method | family | aliases | class-discriminative | gradient | reference | resolution | cost |\n"
         "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (Family family : kFamilies) {
    for (const MethodInfo* m : of_family(family)) {
      out << "| [`" << m->name << "`](#" << anchor.at(m->name) << ") | " << to_string(m->family)
          << " | " << cell(aliases_of(*m)) << " | " << yes_no(m->class_discriminative) << " | "
          << yes_no(m->needs_gradient) << " | " << yes_no(m->needs_reference) << " | "
          << to_string(m->resolution) << " | " << cell(m->cost) << " |\n";
    }
  }

  out << "\n## Notation\n\n"
         "- $x \\in \\mathbb R^{C \\times H \\times W}$: one preprocessed input image (a batch is "
         "explained image by image); $c$: the target class.\n"
         "- $y_c(x)$: the target logit, before the softmax; $p_c(x) = \\mathrm{softmax}(y(x))_c$.\n"
         "- $a$: the raw attribution; $M$: the map over the $H \\times W$ input pixels.\n"
         "- $\\rho$: the channel reduction of an input attribution (`reduce`): `max` "
         "$\\max_{\\text{ch}} |a_{\\text{ch}}|$, `l2` $\\|a\\|_2$ over the channels, `sum` "
         "$\\sum_{\\text{ch}} a_{\\text{ch}}$ (signed).\n"
         "- $A \\in \\mathbb R^{K \\times h \\times w}$: the activations of the CAM layer, channel "
         "$A^k$; $g = \\partial y_c / \\partial A$, the plain gradient at that layer; $L$: a "
         "layer-resolution map.\n"
         "- $\\mathrm{Up}$: bilinear resizing to $H \\times W$ (`align_corners=false`); $\\odot$: "
         "element-wise product; $[\\cdot]$: 1 if the condition holds, else 0; "
         "$\\mathrm{ReLU}(z) = \\max(z, 0)$.\n";

  for (Family family : kFamilies) {
    const auto members = of_family(family);
    out << "\n## " << family_title(family) << "\n\n" << family_blurb(family) << "\n";
    if (!family_math(family).empty()) out << "\n" << family_math(family) << "\n";
    // Notes for the document only (conventions, measured figures), under "notes:FAMILY".
    if (const auto notes = math_of("notes:" + to_string(family)); notes != kNoMath) out << "\n" << notes << "\n";
    if (members.empty()) out << "\nNo method of this family is registered yet.\n";
    for (const MethodInfo* m : members) {
      out << "\n### " << m->name << "\n\n" << sentence(m->summary) << "\n\n";
      if (!m->aliases.empty()) {
        out << "Aliases: ";
        for (size_t i = 0; i < m->aliases.size(); ++i) out << (i ? ", " : "") << "`" << m->aliases[i] << "`";
        out << ". ";
      }
      out << "Class-discriminative: " << yes_no(m->class_discriminative)
          << "; gradient: " << yes_no(m->needs_gradient)
          << "; reference input: " << yes_no(m->needs_reference)
          << "; resolution: " << to_string(m->resolution) << "; cost: " << m->cost << ".\n\n"
          << math_of(m->name) << "\n\n";
      if (m->hyperparameters.empty()) {
        out << "No hyper-parameters.\n\n";
      } else {
        out << "| parameter | default | takes | meaning |\n| --- | --- | --- | --- |\n";
        for (const auto& h : m->hyperparameters) {
          const std::string fallback = h.fallback.empty() ? "none" : "`" + h.fallback + "`";
          out << "| `" << h.name << "` | " << fallback << " | " << cell(h.describe()) << " | "
              << cell(h.meaning) << " |\n";
        }
        out << "\n";
      }
      out << "Reference: " << sentence(m->citation) << "\n";
    }
  }
  out << std::flush;
}

}  // namespace

Command add_methods(CLI::App& parent) {
  struct Options {
    std::string name;
    bool markdown = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* app = parent.add_subcommand("methods", "the taxonomy of the explanation methods");
  app->add_option("name", options->name, "show one method (by name or alias) in full");
  app->add_flag("--markdown", options->markdown, "print docs/methods.md, generated from the registry");
  return {app, [options](const Global&) {
            if (options->markdown && !options->name.empty()) {
              throw ArgumentError("--markdown documents every method: give it no method name");
            }
            if (options->markdown) return print_markdown();
            if (!options->name.empty()) return print_method(find_method(options->name));
            print_table();
          }};
}

}  // namespace whitebox::cli
