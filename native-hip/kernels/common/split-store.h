// Twin of shaders/common/split-store.wgsl: the outputs are parameters (Y, Y2, Y3 after the op's
// Params), and the Params type is a template parameter.
#pragma once

#include "rf_wgsl.h"

// Output column oc of a weight concatenated from several projections goes to its own projection's
// tensor: [0, split1) to Y, [split1, split2) to Y2, [split2, out_cols) to Y3.
template <class PARAMS>
RF_INLINE void split_store(const PARAMS& P, f32* __restrict__ Y, f32* __restrict__ Y2, f32* __restrict__ Y3, u32 r, u32 oc, f32 v) {
  if (oc < P.split1) {
    Y[r * P.split1 + oc] = v;
  } else if (oc < P.split2) {
    Y2[r * (P.split2 - P.split1) + (oc - P.split1)] = v;
  } else {
    Y3[r * (P.out_cols - P.split2) + (oc - P.split2)] = v;
  }
}
