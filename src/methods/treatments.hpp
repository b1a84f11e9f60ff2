#pragma once
// How each rule-based method treats each operator, decided from the operator's declared traits
// (ops::Traits) by one switch per method over every kind: the compiler flags a kind a method
// leaves out, and the rule tables are built from these answers, so what a method does with an
// operator is what these functions say. A test walks every registered operator through them.
#include <string>

namespace whitebox::explainers {

enum class Treatment {
  Exact,        // the node's exact VJP (linear nodes, routing): right for the method as it is
  Rule,         // a rule of the method's own
  Unsupported,  // the method has no rule: it stops with an error naming the node
};

Treatment lrp_treatment(const std::string& op_type);       // LRP, deep Taylor, excitation backprop
Treatment deeplift_treatment(const std::string& op_type);  // Rescale and RevealCancel
Treatment guided_treatment(const std::string& op_type);    // guided backprop and deconvnet
// CAM's head matcher: Exact passes through (reshapes), Rule may be the global pooling or the
// linear classifier, Unsupported ends the match (the model has no CAM head there).
Treatment cam_head_treatment(const std::string& op_type);

}  // namespace whitebox::explainers
