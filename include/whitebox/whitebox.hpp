#pragma once
// Everything of the public API in one include.
#include "whitebox/data.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/graph.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/model.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/patterns.hpp"
#include "whitebox/preprocess.hpp"
#include "whitebox/render.hpp"
#include "whitebox/rules.hpp"
