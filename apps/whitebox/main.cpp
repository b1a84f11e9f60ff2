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

Progress::Progress(size_t total, std::string what)
    : total_(total),
      what_(std::move(what)),
      terminal_(!quiet && total > 1 && isatty(STDERR_FILENO)),
      log_(!quiet && total > 1 && !terminal_) {}

Progress::~Progress() { clear(); }

void Progress::advance() {
  if (item_.empty()) return;
  ++done_;
  if (working_) {
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  } else {
    ++skipped_;
  }
  working_ = false;
  if (log_) std::cerr << what_ << " " << status() << "  " << printable(item_) << std::endl;
}

void Progress::start(const std::string& item) {
  advance();
  item_ = item;
  working_ = true;
  started_ = std::chrono::steady_clock::now();
  draw();
}

void Progress::skip(const std::string& item) {
  advance();
  item_ = item;
  draw();
}

void Progress::finish() {
  advance();
  item_.clear();
  clear();
}

void Progress::print(const std::string& line) {
  clear();
  // Flushed before the bar comes back on the other stream; labels and file names may hold
  // escape sequences: shown, never run by the terminal.
  std::string shown;
  for (size_t start = 0; start <= line.size();) {
    const size_t end = std::min(line.find('\n', start), line.size());
    shown += printable(std::string_view(line).substr(start, end - start));
    if (end < line.size()) shown += '\n';
    start = end + 1;
  }
  std::cout << shown << std::endl;
  draw();
}

std::string Progress::status() const {
  std::ostringstream text;
  text << done_ << "/" << total_;
  // Times from the items that needed work (resumed ones cost nothing).
  if (const size_t timed = done_ - skipped_; timed > 0) {
    const double each = seconds_ / static_cast<double>(timed);
    text << "  " << fixed(each, 1) << " s each";
    if (done_ < total_) {
      const auto left = static_cast<long>(each * static_cast<double>(total_ - done_) + 0.5);
      text << "  " << left / 60 << ":" << (left % 60 < 10 ? "0" : "") << left % 60 << " left";
    }
  }
  return text.str();
}

void Progress::draw() const {
  if (!terminal_) return;
  constexpr size_t width = 30;
  const size_t filled = total_ ? width * done_ / total_ : width;
  std::cerr << "\r\033[K" << what_ << " [" << std::string(filled, '#')
            << std::string(width - filled, '.') << "] " << status() << "  " << printable(item_)
            << std::flush;
}

void Progress::clear() const {
  if (terminal_) std::cerr << "\r\033[K" << std::flush;
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
  app.footer(Cluster::build_info());

  Global global;
  app.add_option("--threads", global.threads, "CPU threads (0: all cores)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--model", global.model, "ONNX model file (default: the bundled MobileNetV2)");
  app.add_flag("--quiet,-q", global.quiet,
               "no progress on stderr (a bar on a terminal, a line per image in a log)");
  app.add_option("--preprocess", global.preprocess,
                 "override the model's preprocessing preset (imagenet, inception, mobilenet-tf, unit)");

  const std::vector<Command> commands{add_predict(app), add_inspect(app), add_explain(app), add_methods(app),
                                       add_evaluate(app), add_patterns(app), add_sanity(app),
                                       add_compare(app)};
  // Subcommands inherit the footer: the MPI line belongs to the top-level help only.
  for (const auto& command : commands) command.app->footer("");

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
