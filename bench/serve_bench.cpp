// The viewer under load (bundled MobileNetV2, the bundled photos, 2 threads): 8 clients each
// sending 50 requests at once, on the uncached path (every request a new Grad-CAM map: another
// class) and on the cached one (maps already computed, as .npy), with the latency percentiles,
// the time per uncached map against one explain() call in the same process (the baseline), and
// the resident memory and cache use after each phase (a 64 MiB cache: the uncached phase's 400
// maps do not fit, so that eviction runs). The server computes on the main thread, as the CLI's.
// Usage: serve_bench [clients] [requests per client]
#include <ATen/ATen.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "timing.hpp"
#include "whitebox/data.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/image.hpp"
#include "whitebox/runtime.hpp"
#include "whitebox/serve.hpp"

using namespace whitebox;
using Clock = std::chrono::steady_clock;

namespace {

double resident_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

struct Load {
  std::vector<double> latencies;  // ms
  double seconds = 0;
  int failures = 0;
  double resident = 0, cache = 0;  // MiB after the phase
};

// `clients` threads, each sending `requests` requests path(client, i) one after the other.
Load send(int port, int clients, int requests, const std::function<std::string(int, int)>& path) {
  Load load;
  std::vector<std::vector<double>> times(clients);
  std::vector<int> failures(clients, 0);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(600);
      for (int i = 0; i < requests; ++i) {
        const auto sent = Clock::now();
        const auto r = client.Get(path(c, i));
        times[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        if (!r || r->status != 200) ++failures[c];
      }
    });
  }
  for (auto& t : threads) t.join();
  load.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (int c = 0; c < clients; ++c) {
    load.latencies.insert(load.latencies.end(), times[c].begin(), times[c].end());
    load.failures += failures[c];
  }
  httplib::Client probe("127.0.0.1", port);
  load.resident = resident_mib();
  load.cache = nlohmann::json::parse(probe.Get("/api/info")->body)["cache_used"].get<double>() / (1 << 20);
  return load;
}

}  // namespace

int main(int argc, char** argv) {
  const int clients = argc > 1 ? std::atoi(argv[1]) : 8;
  const int requests = argc > 2 ? std::atoi(argv[2]) : 50;
  set_threads(2);  // as the CLI does
  const Model model = Model::load(default_model());
  const auto images = image_files(bundled("images"));
  const auto name = [&](int k) { return images[k % images.size()].filename().string(); };

  // The baseline: one Grad-CAM map in this process, as an uncached request computes it.
  const at::Tensor x = preprocess(read_image(images[0]), model.preprocessing).tensor;
  int cls = 0;
  const bench::Rounds direct =
      bench::time_rounds({[&] { explain(model, x, {"gradcam"}, Target::index(cls++ % 1000)); }}, 20);

  ServeOptions options;
  options.port = 0;
  options.cache_bytes = uint64_t{64} << 20;
  Server server(model, options);
  const double before = resident_mib();
  Load uncached, cached;
  std::thread clients_thread([&] {
    while (server.port() <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // Every request another (image, class): nothing is cached.
    uncached = send(server.port(), clients, requests, [&](int c, int i) {
      const int k = c * requests + i;
      return "/api/map?method=gradcam&image=" + name(k) + "&target=" + std::to_string(k % 1000);
    });
    // The same six maps again and again, as .npy: all from the cache.
    httplib::Client warm("127.0.0.1", server.port());
    for (int k = 0; k < 6; ++k) warm.Get("/api/map?method=gradcam&target=1&image=" + name(k));
    cached = send(server.port(), clients, requests, [&](int c, int i) {
      return "/api/map?method=gradcam&target=1&format=npy&image=" + name(c + i);
    });
    server.stop();
  });
  server.run();
  clients_thread.join();

  std::printf("| path | requests | failures | p50 ms | p95 ms | maps/s | resident MiB after (before %.0f) | cache MiB (of 64) |\n",
              before);
  std::printf("|---|---|---|---|---|---|---|---|\n");
  const auto row = [&](const char* title, const Load& load) {
    std::printf("| %s | %zu | %d | %.1f | %.1f | %.1f | %.0f | %.1f |\n", title, load.latencies.size(),
                load.failures, percentile(load.latencies, 0.5), percentile(load.latencies, 0.95),
                load.latencies.size() / load.seconds, load.resident, load.cache);
  };
  row("uncached (a new Grad-CAM map each)", uncached);
  row("cached (.npy of a computed map)", cached);
  const double per_map = 1000.0 * uncached.seconds / uncached.latencies.size();
  std::printf("\nuncached: %.1f ms of wall time per map served against %.1f ms for explain() in "
              "process: %.2fx\n",
              per_map, direct.median(0), per_map / direct.median(0));
  return 0;
}
