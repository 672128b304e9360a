// The --html report: one self-contained page (inline CSS and SVG, no scripts, no external files)
// with, per compared pair, a per-layer error chart (NMSE on a log scale, one line per tensor), the
// worst tensors, and every step's logits comparison.
import { describeFailure, divergenceText, layerLabel, sci, severity, stepsOfCase, tapLabel } from './report.ts';
import type { DiffReport, PairReport, TapStat } from './types.ts';

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#393b79', '#ad494a', '#637939', '#7b4173', '#3182bd', '#e6550d', '#31a354', '#756bb1', '#636363',
];

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderHtml(r: DiffReport): string {
  const model = r.model.split('/').pop() ?? r.model;
  const backends = r.backends.map((b, i) => `<tr><th>${i === 0 ? 'reference' : 'compared'}</th><td><b>${esc(b.label)}</b></td><td>${esc(b.device)}</td></tr>`).join('');
  const skipped = r.skipped.map((s) => `<tr><th>skipped</th><td><b>${esc(s.name)}</b></td><td>${esc(s.reason)}</td></tr>`).join('');
  const cases = r.cases
    .map((c, i) => `<tr><td>${i}</td><td><code>${esc(c.prompt)}</code></td><td>${c.promptTokens}</td><td><code>${esc(c.completion)}</code></td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rocforge diff: ${esc(model)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1120px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 6px;border-top:1px solid #ddd;padding-top:16px}
h3{font-size:15px;margin:18px 0 6px} table{border-collapse:collapse;margin:6px 0} td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
.grid td,.grid th{border-bottom:1px solid #eee;padding:3px 12px 3px 0} .num{font-variant-numeric:tabular-nums}
.pass{color:#137333;font-weight:600} .fail{color:#c5221f;font-weight:600} .over{background:#fde7e7}
code{background:#f4f4f4;padding:0 3px;white-space:pre-wrap;word-break:break-all} .muted{color:#666}
.steps span{display:inline-block;width:11px;height:14px;margin:0 1px 0 0;border-radius:2px}
.agree{background:#34a853}.tie{background:#fbbc04}.differ{background:#ea4335}
</style></head><body>
<h1>rocforge diff: ${esc(model)}</h1>
<div class="muted">numerics <b>${r.numerics}</b> · ${r.cases.length} prompts × up to ${r.steps} steps · ubatch ${r.ubatch} · ${(r.ms / 1000).toFixed(1)} s ·
<span class="${r.passed ? 'pass' : 'fail'}">${r.passed ? 'PASS' : 'FAIL'}</span></div>
<table>${backends}${skipped}</table>
${r.pairs.map((p) => pairSection(r, p)).join('\n')}
<h2>Prompts</h2>
<table class="grid"><tr><th>case</th><th>prompt</th><th>tokens</th><th>reference's greedy completion</th></tr>${cases}</table>
</body></html>
`;
}

function pairSection(r: DiffReport, p: PairReport): string {
  const s = p.summary;
  const worst = [...p.ops].sort((a, b) => severity(b) - severity(a) || b.nmse - a.nmse).slice(0, 15);
  const rows = worst
    .map(
      (t) =>
        `<tr class="${t.nmse > t.threshold ? 'over' : ''}"><td>${layerLabel(t.layer, r.nLayers)}</td><td>${esc(tapLabel(t))}</td>` +
        `<td class="num">${sci(t.nmse)}</td><td class="num">${sci(t.maxAbs)}</td><td class="num">${sci(t.threshold)}</td><td class="num">${sci(t.opBound)}</td><td>${t.caseIndex}</td><td>${t.step === 0 ? 'prefill' : t.step}</td></tr>`,
    )
    .join('');
  const strips = r.cases
    .map((_, ci) => {
      const cells = stepsOfCase(p, ci)
        .map((st) => {
          const cls = st.agree ? 'agree' : st.nearTie ? 'tie' : 'differ';
          const title = `step ${st.step}: tokens ${st.refToken}/${st.token}, gap ${st.top2Gap.toFixed(3)}, logits NMSE ${sci(st.logitsNmse)}, top-${r.topK} overlap ${st.topKOverlap}`;
          return `<span class="${cls}" title="${esc(title)}"></span>`;
        })
        .join('');
      return `<tr><td>case ${ci}</td><td class="steps">${cells}</td></tr>`;
    })
    .join('');
  return `<h2>${esc(p.other)} vs ${esc(p.reference)}: <span class="${p.firstFailure ? 'fail' : 'pass'}">${p.firstFailure ? 'FAIL' : 'pass'}</span></h2>
<p>${s.stepsCompared} steps: greedy agree <b>${s.greedyAgree}</b>, differ after a near tie ${s.disagreeNearTie}, differ otherwise ${s.disagreeOtherwise};
logits NMSE max ${sci(s.maxLogitsNmse)}; top-${r.topK} |Δlogprob| max ${sci(s.maxAbsLogprob)}; top-${r.topK} overlap min ${s.minTopKOverlap}/${r.topK}; tensors over their bound: ${s.tensorsOverThreshold}</p>
<p>First failing: <b>${p.firstFailure ? esc(describeFailure(p.firstFailure, r)) : 'none'}</b><br>
Divergence starts: ${esc(divergenceText(r, p))}</p>
${p.ops.length ? chart(r, p) : '<p class="muted">Logits only (taps off): no per-op chart.</p>'}
${p.ops.length ? `<h3>Worst tensors (worst of all steps)</h3><table class="grid"><tr><th>layer</th><th>tensor</th><th>NMSE</th><th>max |err|</th><th>bound</th><th>op bound</th><th>case</th><th>step</th></tr>${rows}</table>` : ''}
<h3>Steps (green: same greedy token, amber: differs at a near tie, red: differs)</h3><table>${strips}</table>`;
}

/** NMSE per layer, log scale, one line per tensor name; zeros sit on the floor line. */
function chart(r: DiffReport, p: PairReport): string {
  const W = 1080;
  const H = 360;
  const left = 64;
  const right = 190;
  const top = 14;
  const bottom = 36;
  const layers = [-1, ...Array.from({ length: r.nLayers }, (_, i) => i), r.nLayers];
  const positive = p.ops.map((t) => t.nmse).filter((x) => x > 0 && Number.isFinite(x));
  const bounds = [...new Set(p.ops.map((t) => t.threshold).filter((x) => x > 0))];
  const hi = Math.ceil(Math.log10(Math.max(1e-12, ...positive, ...bounds))) + 1;
  const lo = Math.min(hi - 4, Math.floor(Math.log10(Math.min(1e-6, ...positive))) - 1);
  const x = (layer: number) => left + (layers.indexOf(layer) / (layers.length - 1)) * (W - left - right);
  const y = (v: number) => {
    const l = v > 0 ? (Number.isFinite(v) ? Math.log10(v) : hi) : lo;
    return top + ((hi - Math.max(lo, Math.min(hi, l))) / (hi - lo)) * (H - top - bottom);
  };
  const parts: string[] = [];
  for (let e = lo; e <= hi; e++) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${y(10 ** e) + 4}" text-anchor="end" font-size="11" fill="#555">${e === lo ? '0' : `1e${e}`}</text>`);
  }
  for (const l of layers) parts.push(`<text x="${x(l)}" y="${H - bottom + 16}" text-anchor="middle" font-size="11" fill="#555">${layerLabel(l, r.nLayers)}</text>`);
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 4}" text-anchor="middle" font-size="12">layer</text>`);
  parts.push(`<text x="14" y="${(top + H - bottom) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(top + H - bottom) / 2})">NMSE (worst step)</text>`);
  for (const b of bounds) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(b)}" y2="${y(b)}" stroke="#c5221f" stroke-dasharray="4 4" stroke-width="0.8" opacity="0.6"/>`);
  }
  const names = [...new Set(p.ops.map((t) => t.name))];
  names.forEach((name, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = p.ops.filter((t) => t.name === name).sort((a, b) => a.layer - b.layer);
    const d = pts.map((t: TapStat) => `${x(t.layer).toFixed(1)},${y(t.nmse).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    for (const t of pts) {
      const over = t.nmse > t.threshold;
      parts.push(
        `<circle cx="${x(t.layer).toFixed(1)}" cy="${y(t.nmse).toFixed(1)}" r="${over ? 4 : 2.5}" fill="${over ? '#fff' : color}" stroke="${color}" stroke-width="1.5"><title>${esc(`${tapLabel(t)} layer ${layerLabel(t.layer, r.nLayers)}: NMSE ${sci(t.nmse)} (bound ${sci(t.threshold)})`)}</title></circle>`,
      );
    }
    const ly = top + 4 + i * 17;
    parts.push(`<line x1="${W - right + 14}" x2="${W - right + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${W - right + 40}" y="${ly + 4}" font-size="12">${esc(name)}</text>`);
  });
  if (bounds.length) {
    const ly = top + 4 + names.length * 17 + 6;
    parts.push(`<line x1="${W - right + 14}" x2="${W - right + 34}" y1="${ly}" y2="${ly}" stroke="#c5221f" stroke-dasharray="4 4"/><text x="${W - right + 40}" y="${ly + 4}" font-size="12">bounds</text>`);
  }
  return `<h3>Error per layer (log scale; hollow markers are over their bound)</h3>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="NMSE per layer">${parts.join('')}</svg>`;
}
