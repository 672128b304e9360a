// Every weight type of kernels/dequant/ (one struct per type, named like it), for the kernels with
// dequant variants: their entry's RF_DEQUANT_SWITCH* (rf_launch.h) names the types.
#pragma once

#include "dequant/common.h"
#include "dequant/f32.h"
#include "dequant/f16.h"
#include "dequant/bf16.h"
#include "dequant/q4_0.h"
#include "dequant/q4_1.h"
#include "dequant/q5_0.h"
#include "dequant/q5_1.h"
#include "dequant/q8_0.h"
#include "dequant/iq4_nl.h"
#include "dequant/kquant-scales.h"
#include "dequant/q2_k.h"
#include "dequant/q3_k.h"
#include "dequant/q4_k.h"
#include "dequant/q5_k.h"
#include "dequant/q6_k.h"
