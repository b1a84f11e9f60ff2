#pragma once
// Metrics of explanation maps: faithfulness to the model, localisation against annotations,
// robustness, complexity, and agreement with human attention maps, one header per group under
// whitebox/metrics/, all included here. Definitions, formulas and papers: docs/metrics.md.
//
// Conventions: `image` is one model input [C, H, W] (normalised, as Model::logits takes it);
// `map` is one explanation map [H, W] over the input's pixels; `mask` is a [H, W] bool tensor;
// every tensor may live on any device (results come back as doubles). Random draws come from
// a generator seeded by the options, so results are reproducible; overloads that take the
// perturbations explicitly exist for tests and for sharing draws between methods.
#include "whitebox/explain.hpp"
#include "whitebox/metrics/agreement.hpp"
#include "whitebox/metrics/axiomatic.hpp"
#include "whitebox/metrics/complexity.hpp"
#include "whitebox/metrics/dataset.hpp"
#include "whitebox/metrics/explainer.hpp"
#include "whitebox/metrics/faithfulness.hpp"
#include "whitebox/metrics/interval.hpp"
#include "whitebox/metrics/localisation.hpp"
#include "whitebox/metrics/perturbation.hpp"
#include "whitebox/metrics/randomisation.hpp"
#include "whitebox/metrics/registry.hpp"
#include "whitebox/metrics/robustness.hpp"
