#pragma once
#include <filesystem>

#include "whitebox/graph.hpp"

namespace whitebox::onnx_import {

// Reads an ONNX file into a Graph: initializers and Constant nodes become constants, static shapes
// come from ONNX shape inference (a symbolic batch dimension is taken as 1). Throws FileError,
// ModelFormatError, UnsupportedOperator (for operators outside whitebox's coverage).
Graph import(const std::filesystem::path& file);

}  // namespace whitebox::onnx_import
