// kv_store: cache[slot][pos] = k[r], v[r] for one layer (the layer's K and V buffers are bound),
// both in one dispatch. The cache holds f16 (as llama.cpp's default KV cache type does), two
// halves per u32 word, laid out per layer as [n_slots][context][kv_dim]; kv_dim is even.
// One invocation per pair of elements.
struct Params {
  rows: u32,
  kv_dim: u32,
  context: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> SLOTS: array<i32>;
@group(0) @binding(4) var<storage, read> POS: array<i32>;
@group(0) @binding(5) var<storage, read_write> KC: array<u32>;
@group(0) @binding(6) var<storage, read_write> VC: array<u32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let pairs = P.kv_dim / 2u;
  let g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.rows * pairs) { return; }
  let r = g / pairs;
  let c = (g % pairs) * 2u;
  let src = r * P.kv_dim + c;
  let dst = ((u32(SLOTS[r]) * P.context + u32(POS[r])) * P.kv_dim + c) / 2u;
  KC[dst] = pack2x16float(vec2<f32>(K[src], K[src + 1u]));
  VC[dst] = pack2x16float(vec2<f32>(V[src], V[src + 1u]));
}
