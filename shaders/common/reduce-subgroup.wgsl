// Workgroup reductions with subgroup operations: one subgroupAdd/Max per subgroup, then the
// per-subgroup partials are combined through workgroup memory. Used when the device has `subgroups`.
// The op shader defines `override WG` (its workgroup size) and takes a `ri: RedIn` entry argument
// on which it calls red_init(ri) first. Subgroups are taken to hold consecutive local indices,
// as every driver does for 1-D workgroups.
struct RedIn {
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) size: u32,
}

var<private> r_lid: u32;
var<private> r_lane: u32;
var<private> r_size: u32;
var<workgroup> r_buf: array<f32, 128>;
var<workgroup> r_buf4: array<vec4<f32>, 128>;

fn red_init(ri: RedIn) {
  r_lid = ri.lid;
  r_lane = ri.lane;
  r_size = ri.size;
}

fn wg_sum(v: f32) -> f32 {
  let s = subgroupAdd(v);
  if (r_lane == 0u) { r_buf[r_lid / r_size] = s; }
  workgroupBarrier();
  let n = (WG + r_size - 1u) / r_size;
  var t = 0.0;
  for (var i = 0u; i < n; i++) { t += r_buf[i]; }
  workgroupBarrier();
  return t;
}

fn wg_max(v: f32) -> f32 {
  let s = subgroupMax(v);
  if (r_lane == 0u) { r_buf[r_lid / r_size] = s; }
  workgroupBarrier();
  let n = (WG + r_size - 1u) / r_size;
  var t = r_buf[0];
  for (var i = 1u; i < n; i++) { t = max(t, r_buf[i]); }
  workgroupBarrier();
  return t;
}

fn wg_sum4(v: vec4<f32>) -> vec4<f32> {
  let s = subgroupAdd(v);
  if (r_lane == 0u) { r_buf4[r_lid / r_size] = s; }
  workgroupBarrier();
  let n = (WG + r_size - 1u) / r_size;
  var t = vec4<f32>(0.0);
  for (var i = 0u; i < n; i++) { t += r_buf4[i]; }
  workgroupBarrier();
  return t;
}
