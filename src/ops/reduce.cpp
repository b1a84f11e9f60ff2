#include "ops/kernel.hpp"

namespace whitebox::ops {

void register_reduce_ops(Registry& registry) {}

}  // namespace whitebox::ops
