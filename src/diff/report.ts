// How a DiffReport is shown: a compact terminal table, JSON for pipelines, and (report-html.ts) a
// self-contained HTML page.
import { typeName } from '../gguf/types.ts';
import type { DiffReport, Failure, PairReport, StepStat, TapStat } from './types.ts';

/** A layer as reports name it: embd before the layers, out after them. */
export function layerLabel(layer: number, nLayers: number): string {
  if (layer < 0) return 'embd';
  if (layer >= nLayers) return 'out';
  return String(layer);
}

/** "ffn_gate (matmul Q4_K)", "rope_q (rope)". */
export function tapLabel(t: Pick<TapStat, 'name' | 'op' | 'weightType'>): string {
  const type = t.weightType !== undefined && (t.op === 'matmul' || t.op === 'getRows') ? ` ${typeName(t.weightType)}` : '';
  return `${t.name} (${t.op}${type})`;
}

export function sci(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  return x.toExponential(1);
}

/** How far past its bound a comparison is, for ranking (a zero bound counts any error as far). */
export function severity(t: Pick<TapStat, 'nmse' | 'threshold'>): number {
  if (t.nmse === 0) return 0;
  return t.threshold > 0 ? t.nmse / t.threshold : Infinity;
}

export function describeFailure(f: Failure, r: DiffReport): string {
  if (f.kind === 'tensor') {
    const t = f.tap;
    return `${tapLabel(t)} in layer ${layerLabel(t.layer, r.nLayers)}: NMSE ${sci(t.nmse)} > ${sci(t.threshold)}, max |err| ${sci(t.maxAbs)}, ${where(r, t.caseIndex, t.step)}`;
  }
  const s = f.step;
  switch (f.kind) {
    case 'non-finite':
      return `non-finite logits, ${where(r, s.caseIndex, s.step)}`;
    case 'logits':
      return `logits NMSE ${sci(s.logitsNmse)} (bound ${sci(s.threshold)}), top-${r.topK} |Δlogprob| ${sci(s.maxAbsLogprob)} (bound ${sci(s.logprobBound)}), ${where(r, s.caseIndex, s.step)}`;
  }
}

export function tapAt(r: DiffReport, t: TapStat): string {
  return `${tapLabel(t)} in layer ${layerLabel(t.layer, r.nLayers)} (NMSE ${sci(t.nmse)}, ${where(r, t.caseIndex, t.step)})`;
}

/** Where two backends first differ, and whether that op's own error is within its op bound. */
export function divergenceText(r: DiffReport, p: PairReport): string {
  const d = p.divergence;
  if (!d) return p.ops.length ? 'nowhere, every tensor is bit-identical' : 'not measured (logits only)';
  return `${tapAt(r, d)}; its inputs were identical, so that is the op's own error: ${d.nmse > d.opBound ? 'PAST' : 'within'} its op bound ${sci(d.opBound)}`;
}

function where(r: DiffReport, caseIndex: number, step: number): string {
  const p = r.cases[caseIndex]?.prompt ?? '';
  const shown = JSON.stringify(p.length > 32 ? `${p.slice(0, 32)}…` : p);
  return `case ${caseIndex} (${shown}), ${step === 0 ? 'prefill' : `step ${step}`}`;
}

/** The worst tensor of each layer: the one furthest past (or closest to) its bound. */
export function worstPerLayer(p: PairReport): TapStat[] {
  const by = new Map<number, TapStat>();
  for (const t of p.ops) {
    const w = by.get(t.layer);
    if (!w || severity(t) > severity(w) || (severity(t) === severity(w) && t.nmse > w.nmse)) by.set(t.layer, t);
  }
  return [...by.values()].sort((a, b) => a.layer - b.layer);
}

export function formatTerminal(r: DiffReport): string {
  const out: string[] = [];
  const model = r.model.split('/').pop();
  out.push(`rocforge diff: ${model}, numerics ${r.numerics}, ${r.cases.length} prompt${r.cases.length === 1 ? '' : 's'} x up to ${r.steps} steps (ubatch ${r.ubatch})`);
  for (const [i, b] of r.backends.entries()) out.push(`  ${i === 0 ? 'reference' : 'compared '} ${b.label}: ${b.device}`);
  for (const s of r.skipped) out.push(`  skipped   ${s.name}: ${s.reason}`);
  for (const p of r.pairs) out.push('', ...formatPair(r, p));
  const failing = r.pairs.filter((p) => p.firstFailure).length;
  out.push('', `summary: ${r.pairs.length} pair${r.pairs.length === 1 ? '' : 's'} compared, ${failing} over a threshold: ${r.passed ? 'PASS' : 'FAIL'} (${(r.ms / 1000).toFixed(1)} s)`);
  return out.join('\n');
}

function formatPair(r: DiffReport, p: PairReport): string[] {
  const s = p.summary;
  const lines = [
    `${p.other} vs ${p.reference}: ${p.firstFailure ? 'FAIL' : 'pass'}`,
    `  steps ${s.stepsCompared}: greedy agree ${s.greedyAgree}, differ after a near tie ${s.disagreeNearTie}, differ otherwise ${s.disagreeOtherwise}; ` +
      `logits NMSE max ${sci(s.maxLogitsNmse)}, top-${r.topK} |Δlogprob| max ${sci(s.maxAbsLogprob)}, top-${r.topK} overlap min ${s.minTopKOverlap}/${r.topK}`,
  ];
  if (p.ops.length > 0) {
    lines.push(`  divergence starts: ${divergenceText(r, p)}`);
    if (p.divergence) {
      lines.push('  worst tensor per layer:', `    ${'layer'.padEnd(6)}${'tensor'.padEnd(26)}${'NMSE'.padEnd(10)}${'max|err|'.padEnd(10)}${'bound'.padEnd(9)}${'op bound'.padEnd(10)}over`);
      for (const t of worstPerLayer(p)) {
        lines.push(
          `    ${layerLabel(t.layer, r.nLayers).padEnd(6)}${tapLabel(t).padEnd(26)}${sci(t.nmse).padEnd(10)}${sci(t.maxAbs).padEnd(10)}${sci(t.threshold).padEnd(9)}${sci(t.opBound).padEnd(10)}${t.nmse > t.threshold ? 'yes' : ''}`,
        );
      }
      lines.push(`  tensors over their bound: ${s.tensorsOverThreshold}`);
    }
  }
  lines.push(`  first failing: ${p.firstFailure ? describeFailure(p.firstFailure, r) : 'none'}`);
  return lines;
}

/** JSON with non-finite numbers as strings ("Infinity"), which JSON itself cannot hold. */
export function toJson(r: DiffReport): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);
}

/** The steps of one case, for the HTML page's per-step strip. */
export function stepsOfCase(p: PairReport, caseIndex: number): StepStat[] {
  return p.steps.filter((s) => s.caseIndex === caseIndex);
}
