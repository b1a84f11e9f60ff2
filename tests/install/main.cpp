// Loads the small bundled model from the installed data folder and prints its size.
#include <iostream>

#include "whitebox/model.hpp"
#include "whitebox/runtime.hpp"

int main() {
  whitebox::set_threads(0);
  const whitebox::Model model = whitebox::Model::load(WHITEBOX_MODELS "/mobilenet_v1_0.25_128.onnx");
  std::cout << "nodes " << model.graph().nodes.size() << "\n";
  return model.graph().nodes.empty() ? 1 : 0;
}
