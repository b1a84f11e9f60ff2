#pragma once
// The method families. Each file registers its methods' taxonomy entries.
#include <string>
#include <utility>
#include <vector>

#include "whitebox/explain.hpp"

namespace whitebox::explainers {

void add_gradient_methods(std::vector<MethodInfo>& registry);
void add_cam_methods(std::vector<MethodInfo>& registry);
void add_blackbox_methods(std::vector<MethodInfo>& registry);  // occlusion, RISE
void add_superpixel_methods(
    std::vector<MethodInfo>& registry);  // feature ablation, LIME, Kernel SHAP
void add_noise_methods(std::vector<MethodInfo>& registry);     // SmoothGrad, SmoothGrad^2, VarGrad
void add_relevance_methods(std::vector<MethodInfo>& registry); // LRP composites, deep Taylor
void add_pattern_methods(std::vector<MethodInfo>& registry);   // PatternNet, PatternAttribution
void add_deeplift_methods(std::vector<MethodInfo>& registry);   // Rescale, RevealCancel
void add_excitation_backprop_methods(std::vector<MethodInfo>& registry);  // and contrastive
// The trace that serves all of `methods`: lean when each allows it (trace_use or trace_reads),
// keeping the layers params name, the last spatial map for default layers and the values rule
// tables read, and nothing for the sweep before the layers when no method sweeps further;
// full otherwise.
TraceOptions trace_options_for(const std::vector<const MethodInfo*>& methods, const Model& model,
                               const Params& params);
// Called by add_gradient_methods, in taxonomy order.
void add_integrated_gradients_method(std::vector<MethodInfo>& registry);
void add_expected_gradients_method(std::vector<MethodInfo>& registry);
void add_modified_gradient_methods(std::vector<MethodInfo>& registry);  // guided backprop, deconvnet
// Captum's layer and neuron attribution: gradient x activation, integrated gradients and
// conductance at a layer; gradient and integrated gradients of one unit (by add_gradient_methods);
// LRP from one unit (by add_relevance_methods).
void add_layer_attribution_methods(std::vector<MethodInfo>& registry);
void add_neuron_gradient_methods(std::vector<MethodInfo>& registry);
void add_neuron_lrp_method(std::vector<MethodInfo>& registry);

// Model::sweep on the context's trace. A result that is not finite is swept again with every
// node checked (Rules::check_finite), so that the NumericalError names the first node whose
// signal was not finite (explain() adds the method).
std::vector<at::Tensor> sweep_finite(const Context& c,
                                     const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                                     const std::vector<ValueId>& targets, const Rules& rules);
// The same on another trace of the model.
std::vector<at::Tensor> sweep_finite(const Model& model, const Trace& trace,
                                     const std::vector<std::pair<ValueId, at::Tensor>>& seeds,
                                     const std::vector<ValueId>& targets, const Rules& rules);
// Throws NumericalError naming `method` when the map, the attribution or a statistic is not
// finite.
void check_finite(const Explanation& e, const std::string& method);

// Reduces an input-space attribution [N, C, H, W] to a map [N, H, W]: "max" of |a| over channels,
// "l2" norm, "sum" (signed). 
at::Tensor reduce_channels(const at::Tensor& attribution, const std::string& how);

}  // namespace whitebox::explainers
