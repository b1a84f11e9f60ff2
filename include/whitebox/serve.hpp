#pragma once
// The viewer: a local HTTP server with a page that shows a model's explanations of a set of
// images, method by method, and an evaluate run's metrics (docs/viewer.md lists its requests).
#include <cstdint>
#include <filesystem>
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
  int connections = 8;  // requests answered at once; computations run one at a time
};

class Server {
 public:
  // Reads the image list and the evaluate results. Throws FileError / InputError.
  Server(Model model, ServeOptions options);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts answering on threads of its own; returns once requests are accepted.
  // Throws Error when the address cannot be bound.
  void start();
  // Blocks until stop() (from another thread or a signal handler's thread).
  void wait();
  void stop();

  int port() const;
  std::string url() const;  // "http://127.0.0.1:8470/"

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace whitebox
