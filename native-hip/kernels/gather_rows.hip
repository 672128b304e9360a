// Twin of shaders/gather_rows.wgsl (bindings as pointers).
#include "rf_launch.h"
#include "rf_wgsl.h"

// gather_rows: out[r] = x[rows[r]] (picks the rows whose logits are wanted).
namespace {
struct Params {
  u32 n;    // output rows
  u32 cols;
};
}

__global__ void gather_rows_main(const Params P, const f32* __restrict__ X, const i32* __restrict__ ROWS, f32* __restrict__ OUT) {
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  const u32 g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.n * P.cols) { return; }
  const u32 r = g / P.cols;
  const u32 c = g % P.cols;
  OUT[g] = X[u32(ROWS[r]) * P.cols + c];
}

extern "C" int rf_k_gather_rows(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(gather_rows_main, l, rf_wg(l, 256u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2));
}
