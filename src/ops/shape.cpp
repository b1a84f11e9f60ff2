#include "ops/kernel.hpp"

namespace whitebox::ops {

void register_shape_ops(Registry& registry) {}

}  // namespace whitebox::ops
