// The table of a conform matrix (bench/conform-matrix.sh): one row per model from the folder's
// ConformReport JSON files, then the totals in the classes of the diff issue's table.
//   npx tsx bench/conform-summary.ts DIR > table.md
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConformReport } from '../src/conform/types.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npx tsx bench/conform-summary.ts DIR');
  process.exit(2);
}
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const missing = readdirSync(dir).filter((f) => f.endsWith('.txt') && !files.includes(f.replace(/\.txt$/, '.json')));
const total = { same: 0, 'near-tie': 0, differ: 0, error: 0, steps: 0, agreed: 0 };
let worst = { value: 0, model: '' };
let server = '';
let device = '';
const rows: string[] = [];
for (const f of files) {
  const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ConformReport;
  server ||= `${r.server} at ${r.url}`;
  device ||= `${r.backend} (${r.device})`;
  const steps = r.cases.reduce((s, c) => s + c.steps.length, 0);
  const agreed = r.cases.reduce((s, c) => s + c.steps.filter((x) => x.agree).length, 0);
  const maxLp = Math.max(0, ...r.cases.map((c) => (typeof c.maxAbsLogprob === 'number' ? c.maxAbsLogprob : 0)));
  const overlap = Math.min(1, ...r.cases.map((c) => c.minOverlap));
  for (const k of ['same', 'near-tie', 'differ', 'error'] as const) total[k] += r.counts[k];
  total.steps += steps;
  total.agreed += agreed;
  if (maxLp > worst.value) worst = { value: maxLp, model: f.replace(/\.json$/, '') };
  rows.push(
    `| ${f.replace(/\.json$/, '')} | ${r.cases.length} | ${r.counts.same} | ${r.counts['near-tie']} | ${r.counts.differ} | ${r.counts.error} | ${agreed}/${steps} | ${maxLp.toExponential(1)} | ${Math.round(overlap * 100)}% | ${r.passed ? 'pass' : 'FAIL'} |`,
  );
}
console.log(`Server: ${server}; reference: ${device}; ${files.length} models.\n`);
console.log('| model | cases | same tokens | differ after a near tie | differ otherwise | server errors | agreed steps | max \\|Δ log-prob\\| (agreed steps) | min top-k overlap | |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
for (const m of missing) console.log(`| ${m.replace(/\.txt$/, '')} | no report: see ${m} | | | | | | | | FAIL |`);
console.log(
  `\n**Total**: ${total.same} same tokens / ${total['near-tie']} differ after a near tie / ${total.differ} differ otherwise / ${total.error} server errors, ` +
    `of ${total.same + total['near-tie'] + total.differ + total.error} cases on ${files.length} models; ${total.agreed}/${total.steps} steps agreed; ` +
    `largest |Δ log-prob| ${worst.value.toExponential(2)} (${worst.model})${missing.length ? `; ${missing.length} models without a report` : ''}.`,
);
