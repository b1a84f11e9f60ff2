// The list of operator families. Each family lives in its own file and registers its kernels here.
#include "ops/kernel.hpp"

namespace whitebox::ops {

void register_conv_ops(Registry& registry);
void register_linear_ops(Registry& registry);
void register_activation_ops(Registry& registry);
void register_elementwise_ops(Registry& registry);
void register_pooling_ops(Registry& registry);
void register_normalization_ops(Registry& registry);
void register_shape_ops(Registry& registry);
void register_reduce_ops(Registry& registry);
void register_resize_ops(Registry& registry);

void register_all_operators() {
  Registry registry;
  register_conv_ops(registry);
  register_linear_ops(registry);
  register_activation_ops(registry);
  register_elementwise_ops(registry);
  register_pooling_ops(registry);
  register_normalization_ops(registry);
  register_shape_ops(registry);
  register_reduce_ops(registry);
  register_resize_ops(registry);
}

}  // namespace whitebox::ops
