// What `rocforge diff` and compareBackends report (the --json output is a DiffReport).
import type { GgmlType } from '../gguf/types.ts';
import type { TapName, TapOp } from '../model/model.ts';
import type { StepComparison } from './metrics.ts';
import type { Numerics } from './thresholds.ts';

/** One tapped tensor compared with the reference's (per layer and name, reports keep the worst). */
export interface TapStat {
  readonly name: TapName;
  /** -1: before the layers (inp_embd); nLayers: after them (result_norm, logits). */
  readonly layer: number;
  readonly op: TapOp;
  readonly weightType?: GgmlType;
  readonly nmse: number;
  readonly maxAbs: number;
  /** diff's bound here (0 in exact numerics), and the op's own bound (the op tests'). */
  readonly threshold: number;
  readonly opBound: number;
  /** Where it was measured: case, step (0 = prefill), first position of the pass, rows read. */
  readonly caseIndex: number;
  readonly step: number;
  readonly position: number;
  readonly rows: number;
}

export interface StepStat extends StepComparison {
  readonly caseIndex: number;
  /** 0: the logits after the prompt; n: after n greedy tokens. */
  readonly step: number;
  /** The logits' NMSE bound and the top-k |Δ log-prob| bound for these numerics. */
  readonly threshold: number;
  readonly logprobBound: number;
}

/** The first thing that went past its bound, in the order the runs computed them. */
export type Failure =
  | { readonly kind: 'tensor'; readonly tap: TapStat }
  | { readonly kind: 'logits' | 'non-finite'; readonly step: StepStat };

export interface CaseSummary {
  /** The prompt as given (text), or the detokenized ids. */
  readonly prompt: string;
  readonly promptTokens: number;
  /** The reference's greedy tokens (fed to every backend). */
  readonly tokens: number[];
  readonly completion: string;
}

export interface PairSummary {
  readonly stepsCompared: number;
  readonly greedyAgree: number;
  /** Different greedy token where the reference's top-2 gap was under NEAR_TIE. */
  readonly disagreeNearTie: number;
  readonly disagreeOtherwise: number;
  readonly maxLogitsNmse: number;
  /** Largest |Δ log-prob| over the reference's top k, any step. */
  readonly maxAbsLogprob: number;
  readonly minTopKOverlap: number;
  readonly tensorsOverThreshold: number;
  readonly nonFiniteSteps: number;
}

export interface PairReport {
  readonly reference: string;
  readonly other: string;
  /** The worst comparison of each (layer, tensor), in graph order. */
  readonly ops: TapStat[];
  readonly steps: StepStat[];
  readonly firstFailure?: Failure;
  /**
   * The first tensor that differs at all, in the order the runs computed them. Every tensor before it
   * was bit-identical, so its error is its op's own: compare it with its opBound.
   */
  readonly divergence?: TapStat;
  readonly summary: PairSummary;
}

export interface BackendInfo {
  readonly label: string;
  readonly device: string;
}

export interface DiffReport {
  readonly model: string;
  readonly numerics: Numerics;
  readonly steps: number;
  readonly ubatch: number;
  /** Top-k size of the overlap metric. */
  readonly topK: number;
  readonly nLayers: number;
  readonly backends: BackendInfo[];
  /** Backends asked for that could not open here, with the reason. */
  readonly skipped: Array<{ readonly name: string; readonly reason: string }>;
  readonly cases: CaseSummary[];
  readonly pairs: PairReport[];
  /** No pair has a failure. */
  readonly passed: boolean;
  readonly ms: number;
}
