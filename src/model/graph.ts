// The decoder-only transformer forward pass, written once for every architecture as a sequence of
// backend ops (no arithmetic here). Per layer, for a batch of rows:
//   h = x + post(Wo · attention(rope(Wq·norm(x) + bq) [* qs], rope(Wk·norm(x) + bk), Wv·norm(x) + bv))
//   x = h + post(Wdown · (act(Wgate·norm(h)) * Wup·norm(h)))
// then logits = [softcap](Wout · norm(x)) for the rows whose logits are wanted (the last layer's
// feed-forward runs on those rows only). What varies by architecture is data (arch/, hparams.ts):
// the embedding scale, rope frequency factors, the query scale qs, the attention's sliding window
// and logit soft-cap per layer, act = silu or gelu, the post-norms, and the final soft-cap.
//
// The pass is a generator so that a tap (src/diff) can read back every op's output between ops:
// with `tap` false it never yields and runs to the end in one step, so the normal path does no
// extra reads and no extra work.
import type { Backend, DeviceResource, IndexTensor, KvCache, Tensor, Weight } from '../backends/backend.ts';
import type { GgmlType } from '../gguf/types.ts';
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

  private readonly set: ResourceSet;

  constructor(
    backend: Backend,
    hp: HParams,
    readonly rows: number,
  ) {
    const qDim = hp.nHeads * hp.headDim;
    const kvDim = hp.nKvHeads * hp.headDim;
    const set = (this.set = new ResourceSet(backend));
    try {
      this.tokens = set.index(rows);
      this.slots = set.index(rows);
      this.positions = set.index(rows);
      this.x = set.tensor(rows, hp.dim);
      this.norm = set.tensor(rows, hp.dim);
      this.q = set.tensor(rows, qDim);
      this.k = set.tensor(rows, kvDim);
      this.v = set.tensor(rows, kvDim);
      this.attn = set.tensor(rows, qDim);
      this.delta = set.tensor(rows, hp.dim);
      this.gate = set.tensor(rows, hp.ffnDim);
      this.up = set.tensor(rows, hp.ffnDim);
      this.act = set.tensor(rows, hp.ffnDim);
    } catch (e) {
      set.releaseAll();
      throw e;
    }
  }

  release(): void {
    this.set.releaseAll();
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

  private readonly set: ResourceSet;

  constructor(
    backend: Backend,
    hp: HParams,
    readonly rows: number,
  ) {
    const set = (this.set = new ResourceSet(backend));
    try {
      this.pick = set.index(rows);
      this.picked = set.tensor(rows, hp.dim);
      this.norm = set.tensor(rows, hp.dim);
      this.gate = set.tensor(rows, hp.ffnDim);
      this.up = set.tensor(rows, hp.ffnDim);
      this.act = set.tensor(rows, hp.ffnDim);
      this.delta = set.tensor(rows, hp.dim);
      this.logits = set.tensor(rows, hp.vocabSize);
    } catch (e) {
      set.releaseAll();
      throw e;
    }
  }

  release(): void {
    this.set.releaseAll();
  }
}

/**
 * Allocates the tensors of one scratch set and remembers them, so that when an allocation fails
 * part-way (device out of memory) the ones already made can be released instead of leaking.
 */
class ResourceSet {
  private readonly created: DeviceResource[] = [];

  constructor(private readonly backend: Backend) {}

  tensor(rows: number, cols: number): Tensor {
    const t = this.backend.createTensor(rows, cols);
    this.created.push(t);
    return t;
  }

  index(length: number): IndexTensor {
    const t = this.backend.createIndex(length);
    this.created.push(t);
    return t;
  }

  releaseAll(): void {
    for (const r of this.created) this.backend.release(r);
    this.created.length = 0;
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

/** The backend op that produced a tapped tensor. */
export type TapOp = 'getRows' | 'rmsNorm' | 'matmul' | 'rope' | 'attention' | 'swiglu' | 'geglu' | 'scale' | 'softcap' | 'add' | 'gatherRows';

/**
 * The tapped tensors, in the order the pass computes them (llama.cpp's names where it has one):
 * inp_embd [, inp_scaled] before the layers; per layer attn_norm, q, k, v, rope_q, rope_k
 * [, q_scaled], kqv (attention), attn_out (Wo) [, attn_post_norm], ffn_inp (residual), [out_rows:
 * the last layer's wanted rows,] ffn_norm, ffn_gate, ffn_up, ffn_act (swiglu or geglu), ffn_out
 * (Wdown) [, ffn_post_norm], l_out; then result_norm, logits [, result_output: soft-capped logits].
 */
export type TapName =
  | 'inp_embd'
  | 'inp_scaled'
  | 'attn_norm'
  | 'q'
  | 'k'
  | 'v'
  | 'rope_q'
  | 'rope_k'
  | 'q_scaled'
  | 'kqv'
  | 'attn_out'
  | 'attn_post_norm'
  | 'ffn_inp'
  | 'out_rows'
  | 'ffn_norm'
  | 'ffn_gate'
  | 'ffn_up'
  | 'ffn_act'
  | 'ffn_out'
  | 'ffn_post_norm'
  | 'l_out'
  | 'result_norm'
  | 'logits'
  | 'result_output';

/** One op's output as the pass leaves it: read it before the generator resumes (scratch is reused). */
export interface TapPoint {
  readonly name: TapName;
  /** Layer index; -1 before the first layer (inp_embd), nLayers after the last (result_norm, logits). */
  readonly layer: number;
  readonly op: TapOp;
  /** The GGUF type of the op's weight (matmul, getRows, rmsNorm), for per-type thresholds. */
  readonly weightType?: GgmlType;
  readonly tensor: Tensor;
}

/**
 * Enqueues the whole forward pass. `s` must hold the batch's tokens, slots and positions and `out`
 * the batch rows whose logits are wanted; the logits end up in out.logits.
 */
export function enqueueForward(g: GraphContext, cache: KvCache, s: BatchScratch, out: LogitScratch): void {
  // Without a tap the generator never yields: this one step runs the whole pass.
  if (!forwardPass(g, cache, s, out, false).next().done) throw new Error('forwardPass yielded without a tap');
}

/** The forward pass; with `tap` it yields after every op (see TapPoint) and the caller reads the tensor. */
export function* forwardPass(g: GraphContext, cache: KvCache, s: BatchScratch, out: LogitScratch, tap: boolean): Generator<TapPoint, void, void> {
  const { backend, hp, weights } = g;
  const last = weights.layers.length - 1;
  backend.getRows(weights.tokenEmbd, s.tokens, s.x);
  if (tap) yield point('inp_embd', -1, 'getRows', s.x, weights.tokenEmbd);
  if (hp.embedScale !== undefined) {
    backend.scale(s.x, hp.embedScale, s.x);
    if (tap) yield point('inp_scaled', -1, 'scale', s.x);
  }
  for (const [layer, w] of weights.layers.entries()) {
    yield* attentionBlock(g, w, layer, cache, s, tap);
    if (layer < last) yield* feedForwardBlock(g, w, layer, s, tap);
  }
  // Every row's keys and values are stored by now, so only the wanted rows go on through the last
  // feed-forward and the output head, as llama.cpp does (inp_out_ids). Besides saving work, this keeps
  // its kernel choice: a single row goes through ggml's vec_dot, not tinyBLAS (see ggml-simd.ts).
  backend.gatherRows(s.x, out.pick, out.picked);
  if (tap) yield point('out_rows', last, 'gatherRows', out.picked);
  yield* feedForwardBlock(g, weights.layers[last]!, last, { ...out, x: out.picked }, tap);
  backend.rmsNorm(out.picked, weights.outputNorm, hp.eps, out.norm);
  if (tap) yield point('result_norm', last + 1, 'rmsNorm', out.norm, weights.outputNorm);
  backend.matmul(weights.output, out.norm, out.logits);
  if (tap) yield point('logits', last + 1, 'matmul', out.logits, weights.output);
  if (hp.finalSoftcap > 0) {
    backend.softcap(out.logits, hp.finalSoftcap, out.logits);
    if (tap) yield point('result_output', last + 1, 'softcap', out.logits);
  }
}

function* attentionBlock(g: GraphContext, w: LayerWeights, layer: number, cache: KvCache, s: BatchScratch, tap: boolean): Generator<TapPoint, void, void> {
  const { backend, hp, arch } = g;
  backend.rmsNorm(s.x, w.attnNorm, hp.eps, s.norm);
  if (tap) yield point('attn_norm', layer, 'rmsNorm', s.norm, w.attnNorm);
  backend.matmul(w.wq, s.norm, s.q, w.bq);
  if (tap) yield point('q', layer, 'matmul', s.q, w.wq);
  backend.matmul(w.wk, s.norm, s.k, w.bk);
  if (tap) yield point('k', layer, 'matmul', s.k, w.wk);
  backend.matmul(w.wv, s.norm, s.v, w.bv);
  if (tap) yield point('v', layer, 'matmul', s.v, w.wv);
  backend.rope(s.q, s.k, s.positions, {
    nHeads: hp.nHeads,
    nKvHeads: hp.nKvHeads,
    headDim: hp.headDim,
    ropeDim: hp.ropeDim,
    freqBase: hp.freqBase,
    freqScale: hp.freqScale,
    neox: arch.rope === 'neox',
    ...(g.weights.ropeFreqs ? { freqFactors: g.weights.ropeFreqs } : {}),
  });
  if (tap) {
    yield point('rope_q', layer, 'rope', s.q);
    yield point('rope_k', layer, 'rope', s.k);
  }
  if (hp.queryScale !== undefined) {
    backend.scale(s.q, hp.queryScale, s.q);
    if (tap) yield point('q_scaled', layer, 'scale', s.q);
  }
  // Storing first makes each row's own key and value (and those of earlier rows of its prompt) visible.
  backend.storeKv(cache, layer, s.k, s.v, s.slots, s.positions);
  backend.attention(
    s.q,
    cache,
    layer,
    s.slots,
    s.positions,
    { nHeads: hp.nHeads, nKvHeads: hp.nKvHeads, headDim: hp.headDim, scale: hp.kqScale, window: windowOf(g, layer), softcap: hp.attnSoftcap },
    s.attn,
  );
  if (tap) yield point('kqv', layer, 'attention', s.attn);
  backend.matmul(w.wo, s.attn, s.delta, w.bo);
  if (tap) yield point('attn_out', layer, 'matmul', s.delta, w.wo);
  if (w.postAttnNorm) {
    backend.rmsNorm(s.delta, w.postAttnNorm, hp.eps, s.delta);
    if (tap) yield point('attn_post_norm', layer, 'rmsNorm', s.delta, w.postAttnNorm);
  }
  backend.add(s.x, s.delta, s.x);
  if (tap) yield point('ffn_inp', layer, 'add', s.x);
}

function* feedForwardBlock(g: GraphContext, w: LayerWeights, layer: number, s: FeedForwardScratch, tap: boolean): Generator<TapPoint, void, void> {
  const { backend, hp, arch } = g;
  backend.rmsNorm(s.x, w.ffnNorm, hp.eps, s.norm);
  if (tap) yield point('ffn_norm', layer, 'rmsNorm', s.norm, w.ffnNorm);
  backend.matmul(w.ffnGate, s.norm, s.gate);
  if (tap) yield point('ffn_gate', layer, 'matmul', s.gate, w.ffnGate);
  backend.matmul(w.ffnUp, s.norm, s.up);
  if (tap) yield point('ffn_up', layer, 'matmul', s.up, w.ffnUp);
  if (arch.activation === 'gelu') backend.geglu(s.gate, s.up, s.act);
  else backend.swiglu(s.gate, s.up, s.act);
  if (tap) yield point('ffn_act', layer, arch.activation === 'gelu' ? 'geglu' : 'swiglu', s.act);
  backend.matmul(w.ffnDown, s.act, s.delta);
  if (tap) yield point('ffn_out', layer, 'matmul', s.delta, w.ffnDown);
  if (w.postFfnNorm) {
    backend.rmsNorm(s.delta, w.postFfnNorm, hp.eps, s.delta);
    if (tap) yield point('ffn_post_norm', layer, 'rmsNorm', s.delta, w.postFfnNorm);
  }
  backend.add(s.x, s.delta, s.x);
  if (tap) yield point('l_out', layer, 'add', s.x);
}

function point(name: TapName, layer: number, op: TapOp, tensor: Tensor, w?: Weight): TapPoint {
  return { name, layer, op, tensor, weightType: w?.type };
}

/** The layer's sliding window (0: none), by the architecture's choice of windowed layers. */
function windowOf(g: GraphContext, layer: number): number {
  const which = g.arch.windowLayers;
  return which === 'all' || (which === 'even' && layer % 2 === 0) ? g.hp.slidingWindow : 0;
}
