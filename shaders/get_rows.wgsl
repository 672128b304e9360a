// get_rows: out[r] = dequantized row ids[r] of a weight table (token embeddings).
// One invocation per 4 output elements. A table split by rows is handled one part per dispatch:
// each dispatch writes only the rows whose id falls in [row_lo, row_lo + part_rows).
// needs: a dequant type (dq4/dq1)
struct Params {
  n: u32,          // output rows
  cols: u32,
  row_bytes: u32,
  row_lo: u32,
  part_rows: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> IDS: array<i32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let per_row = (P.cols + 3u) / 4u;
  let g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.n * per_row) { return; }
  let r = g / per_row;
  let c = (g % per_row) * 4u;
  let id = u32(IDS[r]);
  if (id < P.row_lo || id >= P.row_lo + P.part_rows) { return; }
  let rb = (id - P.row_lo) * P.row_bytes;
  let ob = r * P.cols + c;
  if (c + 3u < P.cols) {
    let v = dq4(rb, c);
    OUT[ob] = v.x; OUT[ob + 1u] = v.y; OUT[ob + 2u] = v.z; OUT[ob + 3u] = v.w;
  } else {
    for (var e = 0u; c + e < P.cols; e++) { OUT[ob + e] = dq1(rb, c + e); }
  }
}
