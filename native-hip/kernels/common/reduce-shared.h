// Twin of shaders/common/reduce-shared.wgsl: the flavour is the struct ReduceShared, which a kernel
// that reduces takes as its template parameter RED (RED::wg_sum(v)) beside ReduceSubgroup; its entry
// picks one by rf_launch.reduce. WG is the launch's block size (a power of two, <= RF_MAX_WG), and
// the buffers are sized at that maximum. red_init() does nothing: the ids are HIP builtins.
#pragma once

#include "rf_wgsl.h"

struct ReduceShared {
  static RF_INLINE void red_init() {}

  static RF_INLINE f32 wg_sum(f32 v) {
    __shared__ f32 r_buf[RF_MAX_WG];
    const u32 r_lid = local_invocation_index();
    const u32 WG = workgroup_size();
    r_buf[r_lid] = v;
    workgroupBarrier();
    for (u32 s = WG / 2u; s > 0u; s >>= 1u) {
      if (r_lid < s) { r_buf[r_lid] += r_buf[r_lid + s]; }
      workgroupBarrier();
    }
    const f32 t = r_buf[0];
    workgroupBarrier();
    return t;
  }

  static RF_INLINE f32 wg_max(f32 v) {
    __shared__ f32 r_buf[RF_MAX_WG];
    const u32 r_lid = local_invocation_index();
    const u32 WG = workgroup_size();
    r_buf[r_lid] = v;
    workgroupBarrier();
    for (u32 s = WG / 2u; s > 0u; s >>= 1u) {
      if (r_lid < s) { r_buf[r_lid] = fmaxf(r_buf[r_lid], r_buf[r_lid + s]); }
      workgroupBarrier();
    }
    const f32 t = r_buf[0];
    workgroupBarrier();
    return t;
  }

  static RF_INLINE vec4<f32> wg_sum4(vec4<f32> v) {
    __shared__ vec4<f32> r_buf4[RF_MAX_WG];
    const u32 r_lid = local_invocation_index();
    const u32 WG = workgroup_size();
    r_buf4[r_lid] = v;
    workgroupBarrier();
    for (u32 s = WG / 2u; s > 0u; s >>= 1u) {
      if (r_lid < s) { r_buf4[r_lid] += r_buf4[r_lid + s]; }
      workgroupBarrier();
    }
    const vec4<f32> t = r_buf4[0];
    workgroupBarrier();
    return t;
  }
};
