// Twin of shaders/scale.wgsl (bindings as pointers; tanhf.h's native-arithmetic replay of glibc's
// tanhf). Aliasing flag kept: the host binds a placeholder for x when it is the output.
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"
#include "common/tanhf.h"

namespace {
struct Params {
  u32 n;
  u32 x_from_out;
  u32 softcap;
  f32 s;
  f32 c;
};
}

__global__ void scale_main(const Params P, const f32* __restrict__ X, f32* OUT) {
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.n) { return; }
  f32 x;
  if (P.x_from_out != 0u) { x = OUT[i]; } else { x = X[i]; }
  if (P.softcap != 0u) {
    OUT[i] = mul_rn(glibc_tanhf(mul_rn(x, P.s)), P.c);
  } else {
    OUT[i] = mul_rn(x, P.s);
  }
}

extern "C" int rf_k_scale(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(scale_main, l, rf_wg(l, 256u), P, rf_buf(l, 0), rf_buf(l, 1));
}
