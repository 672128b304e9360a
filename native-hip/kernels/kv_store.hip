// Twin of shaders/kv_store.wgsl (bindings as pointers). pack2x16float is the hardware f32 -> f16
// conversion (round to nearest even, as the CPU reference's f32ToF16 for every number).
#include "rf_launch.h"
#include "rf_wgsl.h"

namespace {
struct Params {
  u32 rows;
  u32 kv_dim;
  u32 context;
};
}

__global__ void kv_store_main(const Params P, const f32* __restrict__ K, const f32* __restrict__ V, const i32* __restrict__ SLOTS,
                              const i32* __restrict__ POS, u32* __restrict__ KC, u32* __restrict__ VC) {
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  const u32 pairs = P.kv_dim / 2u;
  const u32 g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.rows * pairs) { return; }
  const u32 r = g / pairs;
  const u32 c = (g % pairs) * 2u;
  const u32 src = r * P.kv_dim + c;
  const u32 dst = ((u32(SLOTS[r]) * P.context + u32(POS[r])) * P.kv_dim + c) / 2u;
  KC[dst] = pack2x16float(vec2<f32>(K[src], K[src + 1u]));
  VC[dst] = pack2x16float(vec2<f32>(V[src], V[src + 1u]));
}

extern "C" int rf_k_kv_store(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(kv_store_main, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3), rf_buf(l, 4), rf_buf(l, 5));
}
