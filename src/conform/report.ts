// How a ConformReport is shown: a terminal table with diff's summary classes, JSON (non-finite
// numbers as strings, as diff's), and a self-contained HTML page with a per-step chart per case.
import { toJson as diffToJson, sci } from '../diff/report.ts';
import type { DiffReport } from '../diff/types.ts';
import type { ConformCase, ConformReport } from './types.ts';

/** The prompt as JSON (escapes visible), cut to n characters. */
function short(s: string, n: number): string {
  const j = JSON.stringify(s);
  return j.length > n ? `${j.slice(0, n - 2)}…"` : j;
}

/** "same", "near tie at step 3", "DIFFERS at step 3 (server 17, reference 42, gap 1.2)", "error: …". */
export function caseOutcome(c: ConformCase): string {
  const d = c.divergence;
  switch (c.verdict) {
    case 'same':
      return 'same tokens';
    case 'near-tie':
      return `differs after a near tie at step ${d!.step} (server ${d!.serverToken}, reference ${d!.refToken}, gap ${d!.gap.toFixed(3)})`;
    case 'differ': {
      const step = d && !d.nearTie ? `DIFFERS at step ${d.step}: server token ${d.serverToken}, reference ${d.refToken} (reference gap ${d.gap.toFixed(3)})` : undefined;
      return [step, c.reason ? `DIFFERS: ${c.reason}` : undefined].filter(Boolean).join('; ');
    }
    case 'error':
      return `error: ${c.reason}`;
  }
}

export function summaryLine(r: ConformReport): string {
  const n = r.counts;
  return (
    `summary: ${n.same} same tokens / ${n['near-tie']} differ after a near tie / ${n.differ} differ otherwise` +
    `${n.error ? ` / ${n.error} not compared (server errors)` : ''} of ${r.cases.length} cases: ${r.passed ? 'PASS' : 'FAIL'} (${(r.ms / 1000).toFixed(1)} s)`
  );
}

export function formatTerminal(r: ConformReport): string {
  const out = [
    `rocforge conform: ${r.url} (${r.server}${r.api === 'chat' ? ', chat' : ''}${r.servedModel ? `, model ${r.servedModel}` : ''}) against ${r.model.split('/').pop()} on ${r.backend} (${r.device}), up to ${r.steps} steps, top-${r.topK}`,
    `  ${'case'.padEnd(5)}${'prompt'.padEnd(28)}${'tokens'.padEnd(8)}${'agreed'.padEnd(8)}${'max|Δlp|'.padEnd(10)}${'overlap'.padEnd(9)}outcome`,
  ];
  for (const [i, c] of r.cases.entries()) {
    const agreed = c.steps.filter((s) => s.agree).length;
    const listed = c.steps.some((s) => s.listed > 0);
    out.push(
      `  ${String(i).padEnd(5)}${`${short(c.prompt, 26)} `.padEnd(28)}${String(c.promptTokens).padEnd(8)}${`${agreed}/${c.steps.length}`.padEnd(8)}` +
        `${sci(c.maxAbsLogprob).padEnd(10)}${(listed ? `${Math.round(c.minOverlap * 100)}%` : '-').padEnd(9)}${caseOutcome(c)}`,
    );
  }
  const notes = new Set<string>();
  for (const c of r.cases) {
    if (c.streamed) notes.add('the server refused non-streaming requests: answers were read from streams');
    if (c.steps.some((s) => s.listed > 0 && s.listed < r.topK)) notes.add(`the server listed fewer than ${r.topK} alternatives at some steps: overlap is out of what it listed`);
    if (c.note) notes.add(`case ${r.cases.indexOf(c)}: ${c.note}`);
    if (c.promptCheck === 'count') notes.add(r.api === 'chat' ? "prompt tokens checked by the server's count" : "prompt tokens checked by the server's count (it has no /tokenize)");
  }
  for (const n of notes) out.push(`  note: ${n}`);
  out.push(summaryLine(r));
  return out.join('\n');
}

export function toJson(r: ConformReport): string {
  // diff's serializer writes non-finite numbers as strings; the cast only reuses that replacer.
  return diffToJson(r as unknown as DiffReport);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderHtml(r: ConformReport): string {
  const rows = r.cases
    .map((c, i) => {
      const cls = c.verdict === 'same' ? 'pass' : c.verdict === 'near-tie' ? 'tie' : 'fail';
      return `<tr><td>${i}</td><td><code>${esc(c.prompt)}</code></td><td>${c.promptTokens}</td><td>${c.steps.filter((s) => s.agree).length}/${c.steps.length}</td><td class="num">${sci(c.maxAbsLogprob)}</td><td class="${cls}">${esc(caseOutcome(c))}</td></tr>`;
    })
    .join('');
  const charts = r.cases.map((c, i) => `<h3>case ${i}: <code>${esc(c.prompt.slice(0, 80))}</code></h3>${c.steps.length ? chart(r, c) : `<p class="muted">${esc(caseOutcome(c))}</p>`}<p>server: <code>${esc(c.serverCompletion)}</code></p>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rocforge conform: ${esc(r.url)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1120px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h3{font-size:15px;margin:22px 0 6px} table{border-collapse:collapse;margin:6px 0}
td,th{padding:3px 12px 3px 0;text-align:left;vertical-align:top;border-bottom:1px solid #eee} .num{font-variant-numeric:tabular-nums}
.pass{color:#137333;font-weight:600} .fail{color:#c5221f;font-weight:600} .tie{color:#b06000;font-weight:600}
code{background:#f4f4f4;padding:0 3px;white-space:pre-wrap;word-break:break-all} .muted{color:#666}
</style></head><body>
<h1>rocforge conform: ${esc(r.url)}</h1>
<div class="muted">${esc(r.server)}${r.servedModel ? ` · model ${esc(r.servedModel)}` : ''} · reference ${esc(r.model.split('/').pop() ?? r.model)} on ${esc(r.backend)} (${esc(r.device)}) · up to ${r.steps} steps · top-${r.topK}</div>
<p class="${r.passed ? 'pass' : 'fail'}">${esc(summaryLine(r))}</p>
<table><tr><th>case</th><th>prompt</th><th>tokens</th><th>agreed</th><th>max |Δlogprob|</th><th>outcome</th></tr>${rows}</table>
<h2>Per step</h2><p class="muted">Bars: |Δ log-prob| of the server's token and alternatives against the reference (log scale); dots: green same token, amber other token at a near tie, red other token. Dashed: the near-tie gap.</p>
${charts}
</body></html>
`;
}

function chart(r: ConformReport, c: ConformCase): string {
  const W = 1080;
  const H = 200;
  const left = 60;
  const top = 10;
  const bottom = 34;
  const n = Math.max(r.steps, c.steps.length);
  const bw = (W - left - 10) / n;
  const vals = c.steps.map((s) => s.maxAbsLogprob).filter((v) => v > 0 && Number.isFinite(v));
  const hi = Math.ceil(Math.log10(Math.max(1, ...vals)));
  const lo = Math.min(hi - 3, Math.floor(Math.log10(Math.min(1e-4, ...vals))));
  const y = (v: number): number => {
    const l = v > 0 ? (Number.isFinite(v) ? Math.log10(v) : hi) : lo;
    return top + ((hi - Math.max(lo, Math.min(hi, l))) / (hi - lo)) * (H - top - bottom);
  };
  const parts: string[] = [];
  for (let e = lo; e <= hi; e++) {
    parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#eee"/><text x="${left - 6}" y="${y(10 ** e) + 4}" text-anchor="end" font-size="11" fill="#555">${e === lo ? '0' : `1e${e}`}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${W - 10}" y1="${y(0.05)}" y2="${y(0.05)}" stroke="#b06000" stroke-dasharray="4 4" opacity="0.7"/>`);
  for (const s of c.steps) {
    const x = left + s.step * bw;
    const yv = y(s.maxAbsLogprob);
    const color = s.agree ? '#34a853' : s.gap < 0.05 ? '#fbbc04' : '#ea4335';
    const title = `step ${s.step}: server ${s.serverToken}, reference ${s.refToken}, |Δlogprob| ${sci(s.maxAbsLogprob)}, top-2 gap ${s.top2Gap.toFixed(3)}, overlap ${s.overlap}/${s.listed}`;
    parts.push(`<rect x="${(x + 1).toFixed(1)}" y="${yv.toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${(H - bottom - yv).toFixed(1)}" fill="#9bbbe0"><title>${esc(title)}</title></rect>`);
    parts.push(`<circle cx="${(x + bw / 2).toFixed(1)}" cy="${H - bottom + 10}" r="4" fill="${color}"><title>${esc(title)}</title></circle>`);
  }
  parts.push(`<text x="${(left + W) / 2}" y="${H - 4}" text-anchor="middle" font-size="12">step</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="per-step log-prob error">${parts.join('')}</svg>`;
}
