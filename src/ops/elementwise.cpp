#include "ops/kernel.hpp"

namespace whitebox::ops {

void register_elementwise_ops(Registry& registry) {}

}  // namespace whitebox::ops
