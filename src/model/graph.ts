// The decoder-only transformer forward pass, written once for every architecture as a sequence of
// backend ops (no arithmetic here). Per layer, for a batch of rows:
//   h = x + Wo · attention(rope(Wq·norm(x) + bq), rope(Wk·norm(x) + bk), Wv·norm(x) + bv)
//   x = h + Wdown · (silu(Wgate·norm(h)) * Wup·norm(h))
// then logits = Wout · norm(x) for the rows whose logits are wanted (the last layer's feed-forward
// runs on those rows only).
import type { Backend, IndexTensor, KvCache, Tensor } from '../backends/backend.ts';
import type { Architecture } from './arch/index.ts';
import type { HParams } from './hparams.ts';
import type { LayerWeights, ModelWeights } from './weights.ts';

/** Activations for a batch of `rows` rows. */
export class BatchScratch {
  readonly tokens: IndexTensor;
  readonly slots: IndexTensor;
  readonly positions: IndexTensor;
  /** The residual stream. */
  readonly x: Tensor;
  readonly norm: Tensor;
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
  readonly attn: Tensor;
  /** Output of attention's or the feed-forward's last projection, added into x. */
  readonly delta: Tensor;
  readonly gate: Tensor;
  readonly up: Tensor;
  readonly act: Tensor;

  constructor(
    private readonly backend: Backend,
    hp: HParams,
    readonly rows: number,
  ) {
    const qDim = hp.nHeads * hp.headDim;
    const kvDim = hp.nKvHeads * hp.headDim;
    this.tokens = backend.createIndex(rows);
    this.slots = backend.createIndex(rows);
    this.positions = backend.createIndex(rows);
    this.x = backend.createTensor(rows, hp.dim);
    this.norm = backend.createTensor(rows, hp.dim);
    this.q = backend.createTensor(rows, qDim);
    this.k = backend.createTensor(rows, kvDim);
    this.v = backend.createTensor(rows, kvDim);
    this.attn = backend.createTensor(rows, qDim);
    this.delta = backend.createTensor(rows, hp.dim);
    this.gate = backend.createTensor(rows, hp.ffnDim);
    this.up = backend.createTensor(rows, hp.ffnDim);
    this.act = backend.createTensor(rows, hp.ffnDim);
  }

  release(): void {
    for (const r of [this.tokens, this.slots, this.positions, this.x, this.norm, this.q, this.k, this.v, this.attn, this.delta, this.gate, this.up, this.act]) {
      this.backend.release(r);
    }
  }
}

/** The tensors of the rows whose logits are wanted: the last layer's feed-forward and the output head. */
export class LogitScratch {
  readonly pick: IndexTensor;
  /** The residual stream of the picked rows. */
  readonly picked: Tensor;
  readonly norm: Tensor;
  readonly gate: Tensor;
  readonly up: Tensor;
  readonly act: Tensor;
  readonly delta: Tensor;
  readonly logits: Tensor;

  constructor(
    private readonly backend: Backend,
    hp: HParams,
    readonly rows: number,
  ) {
    this.pick = backend.createIndex(rows);
    this.picked = backend.createTensor(rows, hp.dim);
    this.norm = backend.createTensor(rows, hp.dim);
    this.gate = backend.createTensor(rows, hp.ffnDim);
    this.up = backend.createTensor(rows, hp.ffnDim);
    this.act = backend.createTensor(rows, hp.ffnDim);
    this.delta = backend.createTensor(rows, hp.dim);
    this.logits = backend.createTensor(rows, hp.vocabSize);
  }

  release(): void {
    for (const r of [this.pick, this.picked, this.norm, this.gate, this.up, this.act, this.delta, this.logits]) this.backend.release(r);
  }
}

/** Activations of one feed-forward block: its input rows and scratch of the same row count. */
interface FeedForwardScratch {
  readonly x: Tensor;
  readonly norm: Tensor;
  readonly gate: Tensor;
  readonly up: Tensor;
  readonly act: Tensor;
  readonly delta: Tensor;
}

export interface GraphContext {
  readonly backend: Backend;
  readonly hp: HParams;
  readonly arch: Architecture;
  readonly weights: ModelWeights;
}

/**
 * Enqueues the whole forward pass. `s` must hold the batch's tokens, slots and positions and `out`
 * the batch rows whose logits are wanted; the logits end up in out.logits.
 */
export function enqueueForward(g: GraphContext, cache: KvCache, s: BatchScratch, out: LogitScratch): void {
  const { backend, hp, weights } = g;
  const last = weights.layers.length - 1;
  backend.getRows(weights.tokenEmbd, s.tokens, s.x);
  weights.layers.forEach((w, layer) => {
    attentionBlock(g, w, layer, cache, s);
    if (layer < last) feedForwardBlock(g, w, s);
  });
  // Every row's keys and values are stored by now, so only the wanted rows go on through the last
  // feed-forward and the output head, as llama.cpp does (inp_out_ids). Besides saving work, this keeps
  // its kernel choice: a single row goes through ggml's vec_dot, not tinyBLAS (see ggml-simd.ts).
  backend.gatherRows(s.x, out.pick, out.picked);
  feedForwardBlock(g, weights.layers[last]!, { ...out, x: out.picked });
  backend.rmsNorm(out.picked, weights.outputNorm, hp.eps, out.norm);
  backend.matmul(weights.output, out.norm, out.logits);
}

function attentionBlock(g: GraphContext, w: LayerWeights, layer: number, cache: KvCache, s: BatchScratch): void {
  const { backend, hp, arch } = g;
  backend.rmsNorm(s.x, w.attnNorm, hp.eps, s.norm);
  backend.matmul(w.wq, s.norm, s.q, w.bq);
  backend.matmul(w.wk, s.norm, s.k, w.bk);
  backend.matmul(w.wv, s.norm, s.v, w.bv);
  backend.rope(s.q, s.k, s.positions, {
    nHeads: hp.nHeads,
    nKvHeads: hp.nKvHeads,
    headDim: hp.headDim,
    ropeDim: hp.ropeDim,
    freqBase: hp.freqBase,
    freqScale: hp.freqScale,
    neox: arch.rope === 'neox',
  });
  // Storing first makes each row's own key and value (and those of earlier rows of its prompt) visible.
  backend.storeKv(cache, layer, s.k, s.v, s.slots, s.positions);
  backend.attention(
    s.q,
    cache,
    layer,
    s.slots,
    s.positions,
    { nHeads: hp.nHeads, nKvHeads: hp.nKvHeads, headDim: hp.headDim, scale: kqScale(hp.headDim) },
    s.attn,
  );
  backend.matmul(w.wo, s.attn, s.delta, w.bo);
  backend.add(s.x, s.delta, s.x);
}

function feedForwardBlock(g: GraphContext, w: LayerWeights, s: FeedForwardScratch): void {
  const { backend, hp } = g;
  backend.rmsNorm(s.x, w.ffnNorm, hp.eps, s.norm);
  backend.matmul(w.ffnGate, s.norm, s.gate);
  backend.matmul(w.ffnUp, s.norm, s.up);
  backend.swiglu(s.gate, s.up, s.act);
  backend.matmul(w.ffnDown, s.act, s.delta);
  backend.add(s.x, s.delta, s.x);
}

/** llama.cpp's 1.0f/sqrtf(float(n_embd_head)), rounded as in float32. */
function kqScale(headDim: number): number {
  return Math.fround(1 / Math.fround(Math.sqrt(headDim)));
}
