// Twin of shaders/add.wgsl (bindings as pointers). Aliasing flags kept: the host binds a
// placeholder for an input that aliases OUT, as for WebGPU.
#include "rf_launch.h"
#include "rf_wgsl.h"

// add: out = a + b, elementwise. When out aliases a (or b) the host binds a placeholder there and
// sets a_from_out (b_from_out): that input is then read through OUT.
namespace {
struct Params {
  u32 n;
  u32 a_from_out;
  u32 b_from_out;
};
}

__global__ void add_main(const Params P, const f32* __restrict__ A, const f32* __restrict__ B, f32* OUT) {
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  const u32 i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.n) { return; }
  f32 a;
  f32 b;
  if (P.a_from_out != 0u) { a = OUT[i]; } else { a = A[i]; }
  if (P.b_from_out != 0u) { b = OUT[i]; } else { b = B[i]; }
  OUT[i] = a + b;
}

extern "C" int rf_k_add(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(add_main, l, rf_wg(l, 256u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2));
}
