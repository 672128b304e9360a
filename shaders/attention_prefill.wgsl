// attention_prefill: causal GQA attention of a prompt's rows over their slot's cached positions,
// fast numerics (attention.wgsl stays the kernel of decode rows; kernel-choice.ts says which rows
// take which). attention.wgsl runs one workgroup per (row, head), so each of a prompt's rows, and
// each q head of a GQA group, reads the slot's K/V again. Here one workgroup takes a tile of QT
// query vectors of one KV head: the vectors (row, head of the group) in row-major order, so a tile
// holds QT / group consecutive rows with all their group's heads. Each chunk of KN cached positions
// is loaded once into workgroup memory, unpacked to f32 there (once per workgroup, not per use), and
// used by every vector of the tile; softmax is online per vector (as in attention.wgsl and flash
// attention). Thread (v, t), v = lid / TPR, t = lid % TPR, works for vector v:
//   1. scores of positions c + t + TPR * i (i < KPT): s = scale * q·k, q rounded to f16 (as llama.cpp
//      does), accumulated by fma over the dimensions in order (one instruction per product, fused
//      or not as the device's fma is);
//   2. the chunk's max over the vector's TPR threads (through red_sh), m_new, p = exp(s - m_new)
//      into p_sh;
//   3. with the chunk's V in workgroup memory, dimension pairs t + TPR * i (i < PPT): the chunk's
//      sum of p_j * v_j over j in order (by fma), and the sum of the p_j, the chunk's normalizer
//      (every thread of the vector adds the same p_sh in the same order); then acc = acc * alpha +
//      that sum, l = l * alpha + normalizer, alpha = exp(m - m_new).
// Causal masking, the window and the soft-cap are applied per vector as attention.wgsl does. A
// tile's rows may belong to several slots: the tile takes one pass per slot (a prompt's tile has
// one), over the cells its rows of that slot see. The probabilities stay in f32 (llama.cpp's CPU
// path rounds them to f16): fast numerics, within the NMSE table. No Q8 output: prompt rows' output
// projection is a tiled matmul that takes f32.
// WIDE = 0: head_dim <= 64; WIDE = 1: head_dim <= 128 (wider heads use attention.wgsl). The sizes
// keep workgroup memory under 16 KiB, WebGPU's guaranteed minimum.
struct Params {
  rows: u32,
  n_heads: u32,
  n_kv_heads: u32,
  head_dim: u32,
  kv_dim: u32,
  context: u32,
  scale: f32,
  window: u32,
  softcap: f32,
  softcap_inv: f32,
  row0: u32, // the dispatch's rows are row0 .. row0 + rows - 1 of the batch
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> KC: array<u32>;
@group(0) @binding(3) var<storage, read> VC: array<u32>;
@group(0) @binding(4) var<storage, read> SLOTS: array<i32>;
@group(0) @binding(5) var<storage, read> POS: array<i32>;
@group(0) @binding(6) var<storage, read_write> OUT: array<f32>;

override WIDE: u32 = 0u;
const WG: u32 = 256u;
const QT: u32 = 32u;  // query vectors per workgroup
const TPR: u32 = 8u;  // threads per query vector (WG / QT)
override HP: u32 = 32u << WIDE;        // dimension pairs a head may have
override KN: u32 = select(24u, 8u, WIDE != 0u); // cached positions per chunk: what fits in 16 KiB
override KS: u32 = HP + 1u;            // row stride of q_sh and kv_sh: rows start in different banks
override PS: u32 = KN + 1u;            // row stride of p_sh
override KPT: u32 = KN / TPR;          // scores per thread
override PPT: u32 = HP / TPR;          // output pairs per thread
override Q_WORDS: u32 = QT * KS;
override KV_PAIRS: u32 = KN * KS;
override P_WORDS: u32 = QT * PS;

var<workgroup> q_sh: array<u32, Q_WORDS>;   // the tile's q as f16 pairs
var<workgroup> kv_sh: array<vec2<f32>, KV_PAIRS>; // the chunk's K, then its V, unpacked once
var<workgroup> p_sh: array<f32, P_WORDS>;
var<workgroup> red_sh: array<f32, WG>;
var<workgroup> vslot_sh: array<i32, QT>;    // each vector's slot; -1 when done or past the rows
var<workgroup> vn_sh: array<u32, QT>;       // each vector's cells: pos + 1
var<workgroup> vfirst_sh: array<u32, QT>;   // each vector's first cell (the window)
var<workgroup> cur_sh: i32;
var<workgroup> lo_sh: u32;
var<workgroup> hi_sh: u32;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let group = P.n_heads / P.n_kv_heads;
  let total = P.rows * group;
  let tiles = (total + QT - 1u) / QT;
  let task = wid.x + wid.y * nwg.x;
  if (task >= tiles * P.n_kv_heads) { return; }
  let kvh = task % P.n_kv_heads;
  // Last tiles first: a prompt's last rows see the most cells, and start before the short ones.
  let tile = tiles - 1u - task / P.n_kv_heads;
  let hp = P.head_dim / 2u;
  let kvp = P.kv_dim / 2u;
  let v = lid / TPR;
  let t = lid % TPR;
  let qv = tile * QT + v;
  let live = qv < total;
  let r = P.row0 + min(qv, total - 1u) / group;
  let h = kvh * group + qv % group;
  let n = u32(POS[r]) + 1u;
  var first = 0u;
  if (P.window != 0u && n > P.window) { first = n - P.window; }
  let slot = SLOTS[r];
  let qb = r * P.n_heads * P.head_dim + h * P.head_dim;
  for (var i = 0u; i < PPT; i++) {
    let d = t + TPR * i;
    if (live && d < hp) { q_sh[v * KS + d] = pack2x16float(vec2<f32>(Q[qb + 2u * d], Q[qb + 2u * d + 1u])); }
  }
  if (t == 0u) {
    vslot_sh[v] = select(-1, slot, live);
    vn_sh[v] = n;
    vfirst_sh[v] = first;
  }
  loop {
    workgroupBarrier(); // the vectors' state (and the last pass's done marks) are written
    if (lid == 0u) {
      // The slot of the first vector not done, and the cells its vectors see.
      var cur = -1;
      var lo = 0xffffffffu;
      var hi = 0u;
      for (var i = 0u; i < QT; i++) {
        let s = vslot_sh[i];
        if (cur < 0 && s >= 0) { cur = s; }
        if (s >= 0 && s == cur) {
          lo = min(lo, vfirst_sh[i]);
          hi = max(hi, vn_sh[i]);
        }
      }
      cur_sh = cur;
      lo_sh = lo;
      hi_sh = hi;
    }
    let cur = workgroupUniformLoad(&cur_sh);
    if (cur < 0) { break; }
    let lo = workgroupUniformLoad(&lo_sh);
    let hi = workgroupUniformLoad(&hi_sh);
    let in_pass = live && slot == cur;
    let base = u32(cur) * P.context * kvp + kvh * hp;

    var m = -1e30;
    var l = 0.0;
    var acc = array<vec2<f32>, 8>(); // PPT <= 8
    for (var c = lo; c < hi; c += KN) {
      // The chunk's K (zeros past the last cell the tile sees).
      for (var w = lid; w < KN * HP; w += WG) {
        let j = w / HP;
        let d = w % HP;
        if (d < hp) {
          var kw = 0u;
          if (c + j < hi) { kw = KC[base + (c + j) * kvp + d]; }
          kv_sh[j * KS + d] = unpack2x16float(kw);
        }
      }
      workgroupBarrier();
      var s = array<f32, 3>(); // KPT <= 3; arrays zeroed explicitly: lavapipe kept a loop body's var across iterations
      for (var d = 0u; d < hp; d++) {
        let qd = unpack2x16float(q_sh[v * KS + d]);
        for (var i = 0u; i < KPT; i++) {
          let k = kv_sh[(t + TPR * i) * KS + d];
          s[i] = fma(qd.y, k.y, fma(qd.x, k.x, s[i]));
        }
      }
      var mx = -3.0e38;
      for (var i = 0u; i < KPT; i++) {
        let j = c + t + TPR * i;
        var si = s[i];
        if (P.softcap != 0.0) {
          // tanh through exp of a non-positive argument: no overflow for any score
          let y = si * P.softcap_inv;
          let e = exp(-2.0 * abs(y));
          si = sign(y) * (1.0 - e) / (1.0 + e) * P.softcap;
        }
        si = si * P.scale;
        if (!(in_pass && j >= first && j < n)) { si = -3.0e38; }
        s[i] = si;
        mx = max(mx, si);
      }
      red_sh[lid] = mx;
      workgroupBarrier();
      var cm = red_sh[v * TPR];
      for (var k = 1u; k < TPR; k++) { cm = max(cm, red_sh[v * TPR + k]); }
      let m_new = max(m, cm);
      let alpha = exp(m - m_new);
      m = m_new;
      for (var i = 0u; i < KPT; i++) {
        let j = c + t + TPR * i;
        var p = 0.0;
        if (in_pass && j >= first && j < n) { p = exp(s[i] - m_new); }
        p_sh[v * PS + t + TPR * i] = p;
      }
      workgroupBarrier(); // every score is taken: kv_sh takes the chunk's V
      for (var w = lid; w < KN * HP; w += WG) {
        let j = w / HP;
        let d = w % HP;
        if (d < hp) {
          var vw = 0u;
          if (c + j < hi) { vw = VC[base + (c + j) * kvp + d]; }
          kv_sh[j * KS + d] = unpack2x16float(vw);
        }
      }
      workgroupBarrier();
      var a = array<vec2<f32>, 8>();
      var ls = 0.0;
      for (var j = 0u; j < KN; j++) {
        let p = p_sh[v * PS + j];
        ls += p;
        for (var i = 0u; i < PPT; i++) { a[i] = fma(vec2<f32>(p), kv_sh[j * KS + t + TPR * i], a[i]); }
      }
      l = l * alpha + ls;
      for (var i = 0u; i < PPT; i++) { acc[i] = acc[i] * alpha + a[i]; }
      workgroupBarrier(); // every V and p is read before the next chunk overwrites them
    }
    if (in_pass) {
      let ob = r * P.n_heads * P.head_dim + h * P.head_dim;
      for (var i = 0u; i < PPT; i++) {
        let d = t + TPR * i;
        if (d < hp) {
          let o = acc[i] / l;
          OUT[ob + 2u * d] = o.x;
          OUT[ob + 2u * d + 1u] = o.y;
        }
      }
      if (t == 0u) { vslot_sh[v] = -1; }
    }
  }
}
