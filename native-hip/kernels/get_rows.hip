// Twin of shaders/get_rows.wgsl (bindings as pointers; the dequant type DQ a template parameter).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "rf_dequant.h"

// get_rows: out[r] = dequantized row ids[r] of a weight table (token embeddings).
// One invocation per 4 output elements. A table split by rows is handled one part per dispatch:
// each dispatch writes only the rows whose id falls in [row_lo, row_lo + part_rows).
namespace {
struct Params {
  u32 n;          // output rows
  u32 cols;
  u32 row_bytes;
  u32 row_lo;
  u32 part_rows;
};
}

template <class DQ>
__global__ void get_rows_main(const Params P, const u32* __restrict__ W, const i32* __restrict__ IDS, f32* __restrict__ OUT) {
  auto dq4 = [&](u32 rb, u32 i) { return DQ::dq4(W, rb, i); };
  auto dq1 = [&](u32 rb, u32 i) { return DQ::dq1(W, rb, i); };
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  const u32 per_row = (P.cols + 3u) / 4u;
  const u32 g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.n * per_row) { return; }
  const u32 r = g / per_row;
  const u32 c = (g % per_row) * 4u;
  const u32 id = u32(IDS[r]);
  if (id < P.row_lo || id >= P.row_lo + P.part_rows) { return; }
  const u32 rb = (id - P.row_lo) * P.row_bytes;
  const u32 ob = r * P.cols + c;
  if (c + 3u < P.cols) {
    const vec4<f32> v = dq4(rb, c);
    OUT[ob] = v.x; OUT[ob + 1u] = v.y; OUT[ob + 2u] = v.z; OUT[ob + 3u] = v.w;
  } else {
    for (u32 e = 0u; c + e < P.cols; e++) { OUT[ob + e] = dq1(rb, c + e); }
  }
}

extern "C" int rf_k_get_rows(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH(l->dequant, DQ, return rf_go(get_rows_main<DQ>, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2)))
}
