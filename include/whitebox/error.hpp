#pragma once
// The exceptions whitebox throws. Every failure a user can cause maps to one of these types, and
// every message is one readable line that names the offending file, node, layer or value.
#include <stdexcept>
#include <string>

namespace whitebox {

// Base of every whitebox exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file is missing, unreadable or cannot be written.
class FileError : public Error {
 public:
  using Error::Error;
};

// A model file is not a valid ONNX model (not protobuf, truncated, inconsistent graph).
class ModelFormatError : public Error {
 public:
  using Error::Error;
};

// The model uses an ONNX operator (or a form of one) that whitebox does not implement.
class UnsupportedOperator : public Error {
 public:
  UnsupportedOperator(std::string op_type, std::string node, long opset, const std::string& detail = "")
      : Error("unsupported ONNX operator '" + op_type + "' (node '" + node + "', opset " +
              std::to_string(opset) + ")" + (detail.empty() ? "" : ": " + detail)),
        op_type_(std::move(op_type)),
        node_(std::move(node)),
        opset_(opset) {}
  const std::string& op_type() const { return op_type_; }
  const std::string& node() const { return node_; }
  long opset() const { return opset_; }

 private:
  std::string op_type_, node_;
  long opset_;
};

// An input tensor or image does not fit the model (shape, channels, dtype) or cannot be decoded.
class InputError : public Error {
 public:
  using Error::Error;
};

// A name (layer, value, method, class label, rule) that does not exist; the message lists valid ones.
class LookupError : public Error {
 public:
  using Error::Error;
};

// A parameter value that makes no sense (zero steps, negative noise, malformed rule string).
class ArgumentError : public Error {
 public:
  using Error::Error;
};

// The call was interrupted (request_interrupt()).
class Interrupted : public Error {
 public:
  using Error::Error;
};

// A method produced a value that is not a finite number (an overflow, or a division by zero
// that its rule cannot stabilise). Names the method (explain() adds it) and, where known, the
// node where the signal first stopped being finite.
class NumericalError : public Error {
 public:
  NumericalError(std::string method, std::string node, std::string detail)
      : Error(method.empty() ? detail : method + ": " + detail),
        method_(std::move(method)),
        node_(std::move(node)),
        detail_(std::move(detail)) {}
  const std::string& method() const { return method_; }
  const std::string& node() const { return node_; }  // empty where no node is to blame
  const std::string& detail() const { return detail_; }  // the message without the method

 private:
  std::string method_, node_, detail_;
};

}  // namespace whitebox
