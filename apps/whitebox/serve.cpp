// whitebox serve: the viewer, a local web page that shows the model's explanations of a folder
// or list of images, method by method, and an evaluate run's metrics (docs/viewer.md).
#include "whitebox/serve.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "whitebox/error.hpp"

namespace whitebox::cli {
namespace {

struct ServeCommandOptions {
  std::string images, list, eval;
  std::string host = "127.0.0.1";
  int port = 8470;
  int cache_mb = 256;
};

// Set by Ctrl-C or SIGTERM (a signal handler may only set a lock-free flag).
std::atomic<bool> stop_requested{false};
extern "C" void request_stop(int) { stop_requested = true; }

bool loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

void run_serve(const Global& global, const ServeCommandOptions& options) {
  if (!options.images.empty() && !options.list.empty()) {
    throw ArgumentError("give --images or --list, not both");
  }
  ServeOptions settings;
  settings.host = options.host;
  settings.port = options.port;
  settings.images = options.list.empty() ? options.images : options.list;
  settings.eval = options.eval;
  settings.cache_bytes = static_cast<uint64_t>(options.cache_mb) << 20;
  Server server(load_model(global), settings);
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  std::thread watcher([&server] {
    while (!stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.stop();
  });
  try {
    // Prints the address once the server answers; run() then computes on this thread, the
    // one that loaded the model (whitebox/serve.hpp says why).
    server.run([&] {
      if (!loopback(options.host)) {
        std::cerr << "whitebox: warning: serving on " << options.host
                  << ": anyone who can reach this address sees the images and can run the model\n";
      }
      std::cout << "whitebox: viewer at " << server.url() << " (Ctrl-C stops it)" << std::endl;
    });
  } catch (...) {
    stop_requested = true;
    watcher.join();
    throw;
  }
  watcher.join();
}

}  // namespace

Command add_serve(CLI::App& parent) {
  auto o = std::make_shared<ServeCommandOptions>();
  CLI::App* app = parent.add_subcommand(
      "serve", "a local web page that shows the model's explanations of a set of images");
  app->add_option("--images,-i", o->images, "a folder of images (default: the bundled photos)");
  app->add_option("--list", o->list, "a list file of images (docs/datasets.md)");
  app->add_option("--eval", o->eval,
                  "an `evaluate` output folder: its metrics per image and method as a table");
  app->add_option("--port,-p", o->port, "the port (0: any free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app->add_option("--host", o->host,
                  "the address to listen on; other than this machine's own, anyone who reaches "
                  "it can use the viewer")
      ->capture_default_str();
  app->add_option("--cache-mb", o->cache_mb, "memory kept for computed maps and pictures, in MiB")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  return {app, [o](const Global& global) { run_serve(global, *o); }};
}

}  // namespace whitebox::cli
