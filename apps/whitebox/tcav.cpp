// whitebox tcav: how much a class depends on human concepts, given by folders of example images
// (testing with concept activation vectors, Kim et al. 2018): a score per concept and its
// significance against random images.
#include "whitebox/tcav.hpp"

#include <ATen/ATen.h>

#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "whitebox/error.hpp"

namespace whitebox::cli {
namespace {

namespace fs = std::filesystem;

struct TcavCommandOptions {
  std::string layer;
  std::vector<std::string> concepts, random;
  std::string images;
  std::string target;
  int64_t runs = 10;
  int64_t examples = 0;
  uint64_t seed = 0;
  double alpha = 0.05;
  bool bonferroni = false;
  std::string out;
};

// A folder's own name, also for "dir/" and "dir/.".
std::string folder_name(const std::string& folder) {
  fs::path path = fs::path(folder).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  const std::string name = path.filename().string();
  return name.empty() || name == "." || name == ".." ? folder : name;
}

// The images of several folders as one batch.
at::Tensor read_folders(const std::vector<std::string>& folders,
                        const Preprocessing& preprocessing) {
  std::vector<at::Tensor> parts;
  for (const std::string& folder : folders) parts.push_back(read_inputs(folder, preprocessing));
  return at::cat(parts);
}

std::string p_text(double p) {
  std::ostringstream out;
  out << std::setprecision(p < 0.001 ? 2 : 3) << (p < 0.001 ? std::scientific : std::fixed) << p;
  return out.str();
}

nlohmann::json concept_json(const TcavConcept& c, const std::string& folder) {
  return {{"name", c.name},
          {"folder", folder},
          {"scores", c.scores},
          {"mean", c.mean},
          {"std", c.std},
          {"cav_accuracies", c.cav_accuracies},
          {"cav_accuracy", c.cav_accuracy},
          {"t", c.t},
          {"p_value", c.p_value},
          {"significant", c.significant}};
}

void run_tcav(const Global& global, const TcavCommandOptions& options) {
  std::vector<std::string> names;
  for (const std::string& folder : options.concepts) {
    const std::string name = folder_name(folder);
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      throw ArgumentError("two --concept folders are named '" + name +
                          "': a concept is named by its folder, so rename one");
    }
    names.push_back(name);
    if (!options.out.empty()) check_utf8_name(folder, "concept folder");
  }
  const Target target = Target::parse(options.target);
  const Model model = load_model(global);
  std::vector<ConceptExamples> concepts;
  for (size_t i = 0; i < names.size(); ++i) {
    concepts.push_back({names[i], read_inputs(options.concepts[i], model.preprocessing)});
  }
  const at::Tensor random = read_folders(options.random, model.preprocessing);
  const at::Tensor images = read_inputs(options.images, model.preprocessing);
  TcavOptions tcav_options;
  tcav_options.runs = options.runs;
  tcav_options.examples = options.examples;
  tcav_options.seed = options.seed;
  tcav_options.alpha = options.alpha;
  tcav_options.bonferroni = options.bonferroni;
  const TcavResult result =
      tcav(model, options.layer, concepts, random, images, target, tcav_options);

  size_t width = 13;
  for (const std::string& name : names) width = std::max(width, name.size());
  const int w = static_cast<int>(width);
  std::ostringstream table;
  table << "TCAV of " << label_of(model, result.target) << " (" << result.target << ") at layer "
        << result.layer << ": " << result.images << " images, " << options.runs << " runs of "
        << result.examples << " examples a side\n"
        << std::left << std::setw(w) << "concept" << std::right << std::setw(8) << "score"
        << std::setw(8) << "std" << std::setw(14) << "CAV accuracy" << std::setw(10) << "p"
        << "\n";
  for (const TcavConcept& c : result.concepts) {
    table << std::left << std::setw(w) << c.name << std::right << std::fixed << std::setprecision(3)
          << std::setw(8) << c.mean << std::setw(8) << c.std << std::setw(14) << c.cav_accuracy
          << std::setw(10) << p_text(c.p_value) << (c.significant ? "  significant" : "") << "\n";
  }
  table << std::left << std::setw(w) << "random" << std::right << std::fixed << std::setprecision(3)
        << std::setw(8) << result.random_mean << std::setw(8) << result.random_std << "\n"
        << "significant: p < " << result.threshold
        << (options.bonferroni ? " (alpha over the concepts)" : "") << "\n";

  if (!options.out.empty()) {
    check_utf8_name(options.out, "output file");
    for (const std::string& folder : options.random) check_utf8_name(folder, "random folder");
    check_utf8_name(options.images, "images folder");
    nlohmann::json listed = nlohmann::json::array();
    for (size_t i = 0; i < result.concepts.size(); ++i) {
      listed.push_back(concept_json(result.concepts[i], options.concepts[i]));
    }
    write_file(options.out, nlohmann::json{{"model", model.path().string()},
                                           {"layer", result.layer},
                                           {"class", result.target},
                                           {"label", label_of(model, result.target)},
                                           {"images", options.images},
                                           {"image_count", result.images},
                                           {"runs", options.runs},
                                           {"examples", result.examples},
                                           {"seed", options.seed},
                                           {"alpha", options.alpha},
                                           {"bonferroni", options.bonferroni},
                                           {"threshold", result.threshold},
                                           {"random",
                                            {{"folders", options.random},
                                             {"scores", result.random_scores},
                                             {"mean", result.random_mean},
                                             {"std", result.random_std}}},
                                           {"concepts", listed}}
                                    .dump(2) +
                                "\n");
    table << "wrote " << options.out << "\n";
  }
  std::cout << table.str() << std::flush;
}

}  // namespace

Command add_tcav(CLI::App& parent) {
  auto o = std::make_shared<TcavCommandOptions>();
  CLI::App* app = parent.add_subcommand(
      "tcav",
      "concept sensitivity: how often a class's logit rises along concepts given by example "
      "images, and whether more than along random images (TCAV)");
  app->add_option("--layer,-l", o->layer, "the layer (`whitebox inspect` lists them)")->required();
  app->add_option("--concept,-c", o->concepts,
                  "a folder of example images of a concept, named by the folder (repeatable)")
      ->required()
      ->allow_extra_args(false);
  app->add_option("--random,-r", o->random,
                  "a folder of random images, the counterexamples (repeatable: pooled)")
      ->required()
      ->allow_extra_args(false);
  app->add_option("--images,-i", o->images, "a folder of images of the class")->required();
  app->add_option("--target,-t", o->target,
                  "the class: an index or a label (or topK where all images agree on it)")
      ->required();
  app->add_option("--runs", o->runs, "CAVs per concept, and random ones, for the t-test")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20))
      ->capture_default_str();
  app->add_option("--examples", o->examples,
                  "images on each side of a CAV (0: a quarter of the fewer of a concept's "
                  "images and half the random ones)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30))
      ->capture_default_str();
  app->add_option("--seed", o->seed, "of the draws of examples")->capture_default_str();
  app->add_option("--alpha", o->alpha, "significance level of the two-sided t-test")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app->add_flag("--bonferroni", o->bonferroni, "divide alpha by the number of concepts");
  app->add_option("--out,-o", o->out, "also write the scores as JSON to this file");
  return {app, [o](const Global& global) { run_tcav(global, *o); }};
}

}  // namespace whitebox::cli
