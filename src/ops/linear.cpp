#include "ops/kernel.hpp"

namespace whitebox::ops {

void register_linear_ops(Registry& registry) {}

}  // namespace whitebox::ops
