#include "ops/kernel.hpp"

namespace whitebox::ops {

void register_normalization_ops(Registry& registry) {}

}  // namespace whitebox::ops
