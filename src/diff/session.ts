// A model loaded on several backends, run in lockstep: the same tokens go through every backend
// (prefill in ubatches, then greedy steps fed with the first backend's tokens, so the sequences stay
// aligned), each op's output is read back through the model's tap, and every backend is compared
// with the first as it goes (only one step's tensors are held at a time).
import type { Backend, KvCache } from '../backends/backend.ts';
import { ContextOverflowError, InvalidRequestError } from '../errors.ts';
import { GgufFile } from '../gguf/reader.ts';
import { Model, type TapRecord } from '../model/model.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { createTokenizer } from '../tokenizer/tokenizer.ts';
import { compareLogits, tensorError, type StepComparison } from './metrics.ts';
import { MODEL_BOUNDS, opBound, tapThreshold, type Numerics } from './thresholds.ts';
import type { CaseSummary, Failure, PairReport, StepStat, TapStat } from './types.ts';

export interface LabeledBackend {
  /** How reports name it ("webgpu", "cpu+broken-rope"). */
  readonly label: string;
  readonly backend: Backend;
}

export interface SessionOptions {
  /** Positions per sequence: the longest prompt plus its steps must fit. */
  readonly contextLength: number;
  /** Prompt rows per forward pass, as llama.cpp's -ub (default 512). */
  readonly ubatch?: number;
  /** Compare every op's output (default) or the logits only (faster; no op is named). */
  readonly taps?: boolean;
  /** Top-k size of the overlap metric (default 8, the oracle's). */
  readonly topK?: number;
  readonly numerics: Numerics;
}

/** Whatever a run hands back per case, besides what it adds to the pair reports. */
export interface CaseRun {
  readonly summary: CaseSummary;
  /** Per other backend (in order), this case's step comparisons. */
  readonly steps: StepStat[][];
}

interface Loaded {
  readonly label: string;
  readonly backend: Backend;
  readonly model: Model;
  readonly cache: KvCache;
}

/** Running aggregate of one (reference, other) pair. */
class PairAccumulator {
  readonly worst = new Map<string, TapStat>();
  readonly steps: StepStat[] = [];
  firstFailure: Failure | undefined;
  /** The first tensor with any difference, in run order. */
  divergence: TapStat | undefined;
  tensorsOver = 0;

  constructor(
    readonly reference: string,
    readonly other: string,
  ) {}

  addTap(t: TapStat): void {
    const key = `${t.layer}:${t.name}`;
    const w = this.worst.get(key);
    if (!w || t.nmse > w.nmse || (t.nmse === w.nmse && t.maxAbs > w.maxAbs)) this.worst.set(key, t);
    if (t.nmse > 0) this.divergence ??= t;
    if (t.nmse > t.threshold) {
      this.tensorsOver++;
      this.firstFailure ??= { kind: 'tensor', tap: t };
    }
  }

  addStep(s: StepStat): void {
    this.steps.push(s);
    if (!s.finite) this.firstFailure ??= { kind: 'non-finite', step: s };
    else if (s.logitsNmse > s.threshold || s.maxAbsLogprob > s.logprobBound) this.firstFailure ??= { kind: 'logits', step: s };
  }

  report(order: Map<string, number>): PairReport {
    const ops = [...this.worst.values()].sort((a, b) => a.layer - b.layer || order.get(a.name)! - order.get(b.name)!);
    const s = this.steps;
    return {
      reference: this.reference,
      other: this.other,
      ops,
      steps: s,
      firstFailure: this.firstFailure,
      divergence: this.divergence,
      summary: {
        stepsCompared: s.length,
        greedyAgree: s.filter((x) => x.agree).length,
        disagreeNearTie: s.filter((x) => !x.agree && x.nearTie).length,
        disagreeOtherwise: s.filter((x) => !x.agree && !x.nearTie).length,
        maxLogitsNmse: Math.max(0, ...s.map((x) => x.logitsNmse)),
        maxAbsLogprob: Math.max(0, ...s.map((x) => x.maxAbsLogprob)),
        minTopKOverlap: s.length ? Math.min(...s.map((x) => x.topKOverlap)) : 0,
        tensorsOverThreshold: this.tensorsOver,
        nonFiniteSteps: s.filter((x) => !x.finite).length,
      },
    };
  }
}

export class DiffSession {
  private readonly pairs: PairAccumulator[];
  /** Graph order of tap names, learned from the first pass (sorts the report). */
  private readonly tapOrder = new Map<string, number>();
  readonly cases: CaseSummary[] = [];
  private closed = false;

  private constructor(
    readonly modelPath: string,
    readonly tokenizer: Tokenizer,
    private readonly loaded: Loaded[],
    readonly opts: SessionOptions,
  ) {
    const [ref, ...others] = loaded;
    this.pairs = others.map((o) => new PairAccumulator(ref!.label, o.label));
  }

  /** Loads the model on every backend (the first is the reference); at least two are needed. */
  static async open(modelPath: string, backends: readonly LabeledBackend[], opts: SessionOptions): Promise<DiffSession> {
    if (backends.length < 2) throw new InvalidRequestError(`diff needs at least two backends to compare, got ${backends.length}`);
    if (!Number.isInteger(opts.contextLength) || opts.contextLength < 2) throw new InvalidRequestError(`contextLength must be an integer of at least 2, got ${opts.contextLength}`);
    const file = await GgufFile.open(modelPath);
    const loaded: Loaded[] = [];
    try {
      const tokenizer = createTokenizer(file.metadata);
      for (const { label, backend } of backends) {
        const model = await Model.load(file, backend);
        let cache: KvCache;
        try {
          cache = model.createKvCache(1, opts.contextLength);
        } catch (e) {
          model.dispose();
          throw e;
        }
        loaded.push({ label, backend, model, cache });
      }
      return new DiffSession(modelPath, tokenizer, loaded, opts);
    } catch (e) {
      for (const l of loaded) release(l);
      throw e;
    } finally {
      await file.close();
    }
  }

  get labels(): string[] {
    return this.loaded.map((l) => l.label);
  }

  get vocabSize(): number {
    return this.loaded[0]!.model.hparams.vocabSize;
  }

  /** A text prompt's tokens as generation would see them (BOS per the model; never empty). */
  tokenize(text: string): number[] {
    return promptTokens(this.tokenizer, text);
  }

  get nLayers(): number {
    return this.loaded[0]!.model.hparams.nLayers;
  }

  /**
   * Runs one prompt (token ids) for `steps` greedy steps on every backend in lockstep and adds the
   * comparisons to the pair reports. Stops early when the reference picks an end-of-generation token.
   */
  async run(prompt: readonly number[], steps: number, display: string = this.tokenizer.decode(prompt)): Promise<CaseRun> {
    if (this.closed) throw new InvalidRequestError('this diff session is closed');
    if (prompt.length === 0) throw new InvalidRequestError('diff: the prompt has no tokens');
    if (!Number.isInteger(steps) || steps < 1) throw new InvalidRequestError(`diff: steps must be a positive integer, got ${steps}`);
    // The last step's token is picked, not fed, so steps - 1 positions follow the prompt.
    if (prompt.length + steps - 1 > this.opts.contextLength) {
      throw new ContextOverflowError(`diff: ${prompt.length} prompt tokens + ${steps} steps do not fit the context of ${this.opts.contextLength}`);
    }
    const caseIndex = this.cases.length;
    const ubatch = this.opts.ubatch ?? 512;
    const perPair: StepStat[][] = this.pairs.map(() => []);
    const tokens: number[] = [];
    let pos = 0;
    let feed = [...prompt];
    for (let step = 0; step < steps; step++) {
      // Prefill in ubatches; decode steps are one row. Only a chunk that ends the feed yields a step.
      let logits: Float32Array[] = [];
      for (let at = 0; at < feed.length; at += ubatch) {
        const chunk = feed.slice(at, at + ubatch);
        logits = await this.forwardAll(chunk, pos, caseIndex, step);
        pos += chunk.length;
      }
      const ref = logits[0]!;
      let refToken = -1;
      for (const [i, pair] of this.pairs.entries()) {
        const c = compareLogits(ref, logits[i + 1]!, this.opts.topK ?? 8);
        const s = toStepStat(c, caseIndex, step, this.opts.numerics);
        pair.addStep(s);
        perPair[i]!.push(s);
        refToken = c.refToken;
      }
      tokens.push(refToken);
      if (this.tokenizer.isEog(refToken)) break;
      feed = [refToken];
    }
    const summary: CaseSummary = { prompt: display, promptTokens: prompt.length, tokens, completion: this.tokenizer.decode(tokens) };
    this.cases.push(summary);
    return { summary, steps: perPair };
  }

  pairReports(): PairReport[] {
    return this.pairs.map((p) => p.report(this.tapOrder));
  }

  /** Releases every model and cache (the backends stay the caller's). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.loaded) release(l);
  }

  /** One forward pass of `chunk` at `pos` on every backend; returns each backend's last-row logits. */
  private async forwardAll(chunk: number[], pos: number, caseIndex: number, step: number): Promise<Float32Array[]> {
    const n = chunk.length;
    const batch = {
      tokens: Int32Array.from(chunk),
      slots: new Int32Array(n),
      positions: Int32Array.from(chunk, (_, i) => pos + i),
      logitRows: Int32Array.of(n - 1),
    };
    if (this.opts.taps === false) return Promise.all(this.loaded.map((l) => l.model.forward(batch, l.cache)));
    // One backend at a time: the reference's taps are held while each other backend's are compared.
    const ref = await this.loaded[0]!.model.forwardTapped(batch, this.loaded[0]!.cache);
    if (this.tapOrder.size === 0) ref.taps.forEach((t, i) => this.tapOrder.set(t.name, i));
    const out = [ref.logits];
    for (const [i, l] of this.loaded.slice(1).entries()) {
      const got = await l.model.forwardTapped(batch, l.cache);
      this.compareTaps(this.pairs[i]!, ref.taps, got.taps, caseIndex, step, pos);
      out.push(got.logits);
    }
    return out;
  }

  private compareTaps(pair: PairAccumulator, ref: TapRecord[], got: TapRecord[], caseIndex: number, step: number, pos: number): void {
    if (ref.length !== got.length) throw new Error(`diff: ${pair.other} tapped ${got.length} tensors, ${pair.reference} ${ref.length}`);
    for (const [i, r] of ref.entries()) {
      const g = got[i]!;
      if (g.name !== r.name || g.layer !== r.layer) throw new Error(`diff: tap ${i} is ${g.name}@${g.layer} on ${pair.other}, ${r.name}@${r.layer} on ${pair.reference}`);
      const e = tensorError(r.data, g.data);
      pair.addTap({
        name: r.name,
        layer: r.layer,
        op: r.op,
        weightType: r.weightType,
        nmse: e.nmse,
        maxAbs: e.maxAbs,
        threshold: tapThreshold(r.op, r.weightType, this.opts.numerics),
        opBound: opBound(r.op, r.weightType),
        caseIndex,
        step,
        position: pos,
        rows: r.rows,
      });
    }
  }
}

/** A text prompt's tokens as generation would see them (BOS per the model; never empty). */
export function promptTokens(tokenizer: Tokenizer, text: string): number[] {
  const t = tokenizer.encode(text, { addSpecial: true, parseSpecial: false });
  if (t.length > 0) return t;
  const start = tokenizer.bosId ?? tokenizer.eosId;
  if (start === undefined) throw new InvalidRequestError('the prompt is empty and this model has no BOS token to start from');
  return [start];
}

function toStepStat(c: StepComparison, caseIndex: number, step: number, numerics: Numerics): StepStat {
  const b = MODEL_BOUNDS[numerics];
  return { caseIndex, step, ...c, threshold: b.logits, logprobBound: b.topKLogprob };
}

function release(l: Loaded): void {
  l.backend.release(l.cache);
  l.model.dispose();
}
