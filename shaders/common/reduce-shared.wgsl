// Workgroup reductions through workgroup memory only (tree reduction), for devices without
// `subgroups`. Same interface as reduce-subgroup.wgsl; WG must be a power of two.
struct RedIn {
  @builtin(local_invocation_index) lid: u32,
}

var<private> r_lid: u32;
var<workgroup> r_buf: array<f32, WG>;
var<workgroup> r_buf4: array<vec4<f32>, WG>;

fn red_init(ri: RedIn) {
  r_lid = ri.lid;
}

fn wg_sum(v: f32) -> f32 {
  r_buf[r_lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (r_lid < s) { r_buf[r_lid] += r_buf[r_lid + s]; }
    workgroupBarrier();
  }
  let t = r_buf[0];
  workgroupBarrier();
  return t;
}

fn wg_max(v: f32) -> f32 {
  r_buf[r_lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (r_lid < s) { r_buf[r_lid] = max(r_buf[r_lid], r_buf[r_lid + s]); }
    workgroupBarrier();
  }
  let t = r_buf[0];
  workgroupBarrier();
  return t;
}

fn wg_sum4(v: vec4<f32>) -> vec4<f32> {
  r_buf4[r_lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (r_lid < s) { r_buf4[r_lid] += r_buf4[r_lid + s]; }
    workgroupBarrier();
  }
  let t = r_buf4[0];
  workgroupBarrier();
  return t;
}
