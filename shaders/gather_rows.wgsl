// gather_rows: out[r] = x[rows[r]] (picks the rows whose logits are wanted).
struct Params {
  n: u32,    // output rows
  cols: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> ROWS: array<i32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.n * P.cols) { return; }
  let r = g / P.cols;
  let c = g % P.cols;
  OUT[g] = X[u32(ROWS[r]) * P.cols + c];
}
