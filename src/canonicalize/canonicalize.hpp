#pragma once
// Canonicalization passes: they turn an exported graph into the form the engine and the rules
// expect, without changing what it computes.
#include "whitebox/graph.hpp"

namespace whitebox::passes {

// Identity and Dropout (inference) nodes disappear; their readers read the original value.
void remove_identities(Graph& graph);
// Nodes whose inputs are all known at load time, and Shape/Size of statically shaped values,
// are evaluated once and become constants.
void fold_constants(Graph& graph);
// BatchNormalization directly after a Conv or Gemm (whose output nothing else reads) is folded
// into that layer's weight and bias; other BatchNormalization nodes stay.
void fold_batchnorm(Graph& graph);
// Add of two computed values (a residual connection) becomes an explicit Sum node, so that rules
// can tell it from a bias addition.
void explicit_sums(Graph& graph);
// Drops nodes nothing reads and values nothing uses, and renumbers the values densely.
void prune(Graph& graph);

// All of the above, in order.
void canonicalize(Graph& graph);

// Helpers shared by the passes.
void replace_uses(Graph& graph, ValueId from, ValueId to);
ValueId add_constant(Graph& graph, const std::string& name, at::Tensor constant);

}  // namespace whitebox::passes
