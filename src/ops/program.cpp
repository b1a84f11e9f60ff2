#include "ops/program.hpp"

#include <stdexcept>
#include <utility>

#include "whitebox/error.hpp"

namespace whitebox::ops {

Program::Program(Graph graph) : graph_(std::move(graph)) {
  kernels_.reserve(graph_.nodes.size());
  for (const Node& node : graph_.nodes) {
    try {
      kernels_.push_back(build(graph_, node));
    } catch (const Error&) {
      throw;
    } catch (const c10::Error& e) {
      // ATen refused a constant input or an attribute while the kernel was built.
      throw ModelFormatError("node '" + node.name + "' (" + node.op_type +
                             "): " + e.what_without_backtrace());
    } catch (const std::runtime_error& e) {  // ATen's shape checks (reshape) throw these
      throw ModelFormatError("node '" + node.name + "' (" + node.op_type + "): " + e.what());
    }
  }
}

}  // namespace whitebox::ops
