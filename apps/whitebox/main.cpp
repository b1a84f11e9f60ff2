// whitebox: explain CNN image classifiers from the command line.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <thread>

#include "cluster.hpp"
#include "commands.hpp"
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/image.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox::cli {

Model load_model(const Global& global, const std::string& file) {
  const std::filesystem::path path = !file.empty()           ? std::filesystem::path(file)
                                     : !global.model.empty() ? std::filesystem::path(global.model)
                                                             : default_model();
  Model model = Model::load(path);
  if (!global.preprocess.empty()) {
    const double crop = model.preprocessing.crop;  // a preset changes the arithmetic, not the crop
    model.preprocessing =
        Preprocessing::preset(global.preprocess, model.preprocessing.width, model.preprocessing.height);
    model.preprocessing.crop = crop;
  }
  return model;
}

std::vector<std::filesystem::path> images_or_default(const std::vector<std::string>& names) {
  if (names.empty()) return {default_image()};
  return {names.begin(), names.end()};
}

std::string label_of(const Model& model, int64_t index) {
  if (index >= 0 && index < static_cast<int64_t>(model.labels.size())) return model.labels[index];
  return "class " + std::to_string(index);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += (i ? ", " : "") + (shape[i] > 0 ? std::to_string(shape[i]) : std::string("?"));
  }
  return text + "]";
}

namespace {

// Error messages must stay on one line: ATen's may carry a backtrace or context on later lines.
std::string one_line(std::string message) {
  if (const auto end = message.find('\n'); end != std::string::npos) message.resize(end);
  while (!message.empty() && (message.back() == ' ' || message.back() == '\r')) message.pop_back();
  // Names in a model or a file name may hold escape sequences: shown, never run by the terminal.
  return message.empty() ? "unknown error" : printable(message);
}

// One line on stderr, exit status 1. Under MPI the line names the rank, and the whole job ends.
int fail(const std::string& message) {
  Cluster& cluster = Cluster::get();
  const std::string rank = cluster.size() > 1 ? " (rank " + std::to_string(cluster.rank()) +
                                                    " of " + std::to_string(cluster.size()) + ")"
                                              : "";
  std::cerr << "whitebox: error" << rank << ": " << one_line(message) << std::endl;
  cluster.fail(1);
  return 1;
}

}  // namespace
}  // namespace whitebox::cli

int main(int argc, char** argv) {
  using namespace whitebox::cli;
  CLI::App app{"whitebox: explain the decisions of CNN image classifiers (ONNX models)", "whitebox"};
  // A wrong option is one line, as every other error.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "whitebox: error: " + whitebox::printable(e.what()) + " (--help lists the options)\n";
  });
  app.set_version_flag("--version", "whitebox " WHITEBOX_VERSION);
  app.require_subcommand(1);
  // Subcommands (created below, which inherit this) pass unknown options up: the global ones
  // may come after the command too (`whitebox explain cat.jpg --model m.onnx`).
  app.fallthrough();

  Global global;
  app.add_option("--threads", global.threads, "CPU threads (0: all cores)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--model", global.model, "ONNX model file (default: the bundled MobileNetV2)");
  app.add_flag("--quiet,-q", global.quiet,
               "no progress on stderr (a bar on a terminal, a line per image in a log)");
  app.add_option("--preprocess", global.preprocess,
                 "override the model's preprocessing preset (imagenet, inception, mobilenet-tf, unit)");

  const std::vector<Command> commands{
      add_predict(app),  add_inspect(app), add_explain(app),  add_methods(app),
      add_evaluate(app), add_patterns(app), add_sanity(app),  add_compare(app),
      add_concepts(app), add_concepts_index(app), add_tcav(app), add_serve(app)};
  // Set after the subcommands, which would inherit it: the MPI line closes the top-level help only.
  app.footer(Cluster::build_info());

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  // More threads than the machine has only make them wait for each other; MPI ranks on one host
  // share its cores.
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  int ranks_here = 1;
  try {
    ranks_here = Cluster::get().local_size();
  } catch (const std::exception& e) {
    std::cerr << "whitebox: error: " << e.what() << std::endl;
    return 1;
  }
  if (global.threads == 0 && ranks_here > 1 && cores > 0)
    global.threads = std::max(1, cores / ranks_here);
  if (cores > 0 && global.threads > cores) {
    std::cerr << "whitebox: note: --threads " << global.threads << " is more than the " << cores
              << " hardware threads; using " << cores << "\n";
    global.threads = cores;
  }
  Progress::quiet = global.quiet;
  try {
    whitebox::set_threads(global.threads);
    whitebox::keep_freed_memory();
    for (const auto& command : commands) {
      if (command.app->parsed()) command.run(global);
    }
    return 0;
  } catch (const whitebox::Error& e) {
    return fail(e.what());
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return fail(
        "out of memory (an input larger than whitebox can hold; see the limits in "
        "docs/bad_inputs.md)");
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("unexpected failure");
  }
}
