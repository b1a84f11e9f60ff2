#pragma once
// The viewer: a local HTTP server with a page that shows a model's explanations of a set of
// images, method by method, and an evaluate run's metrics (docs/viewer.md lists its requests).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "whitebox/model.hpp"

namespace whitebox {

struct ServeOptions {
  // 127.0.0.1 serves this machine only; any other address serves whoever reaches it.
  std::string host = "127.0.0.1";
  int port = 8470;  // 0: a free port, chosen at start()
  // A folder of images or a list file (docs/datasets.md); empty: the bundled photos. Only these
  // images are ever read or shown.
  std::filesystem::path images;
  std::filesystem::path eval;  // an `evaluate` output folder (results.json), or empty
  // Bytes of computed maps, pictures and predictions kept for later requests; the least recently
  // used go first.
  uint64_t cache_bytes = uint64_t{256} << 20;
  int connections = 16;  // requests answered at once; computations run one at a time
};

class Server {
 public:
  // Reads the image list and the evaluate results. Throws FileError / InputError.
  Server(Model model, ServeOptions options);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and answers requests on threads of its own, computing on one more of its own; returns
  // once requests are accepted. Throws Error when the address cannot be bound.
  void start();
  // The same, but computes on the calling thread, until stop(). Faster where that thread is the
  // one that first ran the engine: OpenMP keeps a pool of workers per thread that starts parallel
  // work, and a second pool shares the cores with the idle workers of the first (a Grad-CAM map
  // of MobileNetV2 on two cores took 40 ms on a second thread, 20 on the first).
  // `ready` is called once requests are accepted.
  void run(const std::function<void()>& ready = {});
  // Blocks until stop() and the threads have ended.
  void wait();
  // Stops answering and cancels the computations; callable from any thread.
  void stop();

  int port() const;
  std::string url() const;  // "http://127.0.0.1:8470/"

 private:
  void start_listening();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace whitebox
