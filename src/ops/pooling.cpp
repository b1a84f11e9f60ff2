#include "ops/kernel.hpp"

namespace whitebox::ops {

void register_pooling_ops(Registry& registry) {}

}  // namespace whitebox::ops
