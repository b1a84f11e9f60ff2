#include "ops/kernel.hpp"

namespace whitebox::ops {

void register_activation_ops(Registry& registry) {}

}  // namespace whitebox::ops
