// Loads the small bundled model from the installed data folder and prints its size.
#include <iostream>

#include "whitebox/metrics.hpp"
#include "whitebox/model.hpp"
#include "whitebox/runtime.hpp"

// The metrics' umbrella header and the group headers it includes are installed.
static_assert(whitebox::metrics::PerturbationOptions{}.steps > 0);

int main() {
  whitebox::set_threads(0);
  const whitebox::Model model = whitebox::Model::load(WHITEBOX_MODELS "/mobilenet_v1_0.25_128.onnx");
  std::cout << "nodes " << model.graph().nodes.size() << "\n";
  return model.graph().nodes.empty() ? 1 : 0;
}
