// Twin of shaders/common/reduce-subgroup.wgsl: the flavour is the struct ReduceSubgroup (a kernel's
// template parameter RED, see reduce-shared.h). A subgroup is a warp/wave of warpSize lanes (32 on
// NVIDIA and RDNA, 64 on CDNA), never assumed 32; subgroupAdd/Max are xor-shuffle butterflies, which
// leave every lane with the same value. red_init() does nothing: the ids are HIP builtins.
#pragma once

#include "rf_wgsl.h"

struct ReduceSubgroup {
  static RF_INLINE void red_init() {}

  static RF_INLINE f32 subgroupAdd(f32 v) {
    for (int o = warpSize / 2; o > 0; o >>= 1) { v += rf_shfl_xor(v, o); }
    return v;
  }

  static RF_INLINE f32 subgroupMax(f32 v) {
    for (int o = warpSize / 2; o > 0; o >>= 1) { v = fmaxf(v, rf_shfl_xor(v, o)); }
    return v;
  }

  static RF_INLINE vec4<f32> subgroupAdd(vec4<f32> v) {
    for (int o = warpSize / 2; o > 0; o >>= 1) {
      v += vec4<f32>(rf_shfl_xor(v.x, o), rf_shfl_xor(v.y, o), rf_shfl_xor(v.z, o), rf_shfl_xor(v.w, o));
    }
    return v;
  }

  static RF_INLINE f32 wg_sum(f32 v) {
    __shared__ f32 r_buf[128];
    const u32 r_lid = local_invocation_index();
    const u32 r_size = warpSize;
    const u32 r_lane = r_lid % r_size;
    const u32 WG = workgroup_size();
    const f32 s = subgroupAdd(v);
    if (r_lane == 0u) { r_buf[r_lid / r_size] = s; }
    workgroupBarrier();
    const u32 n = (WG + r_size - 1u) / r_size;
    f32 t = 0.0f;
    for (u32 i = 0u; i < n; i++) { t += r_buf[i]; }
    workgroupBarrier();
    return t;
  }

  static RF_INLINE f32 wg_max(f32 v) {
    __shared__ f32 r_buf[128];
    const u32 r_lid = local_invocation_index();
    const u32 r_size = warpSize;
    const u32 r_lane = r_lid % r_size;
    const u32 WG = workgroup_size();
    const f32 s = subgroupMax(v);
    if (r_lane == 0u) { r_buf[r_lid / r_size] = s; }
    workgroupBarrier();
    const u32 n = (WG + r_size - 1u) / r_size;
    f32 t = r_buf[0];
    for (u32 i = 1u; i < n; i++) { t = fmaxf(t, r_buf[i]); }
    workgroupBarrier();
    return t;
  }

  static RF_INLINE vec4<f32> wg_sum4(vec4<f32> v) {
    __shared__ vec4<f32> r_buf4[128];
    const u32 r_lid = local_invocation_index();
    const u32 r_size = warpSize;
    const u32 r_lane = r_lid % r_size;
    const u32 WG = workgroup_size();
    const vec4<f32> s = subgroupAdd(v);
    if (r_lane == 0u) { r_buf4[r_lid / r_size] = s; }
    workgroupBarrier();
    const u32 n = (WG + r_size - 1u) / r_size;
    vec4<f32> t = vec4<f32>(0.0f);
    for (u32 i = 0u; i < n; i++) { t += r_buf4[i]; }
    workgroupBarrier();
    return t;
  }
};
