// Per-step |Δ log-prob| of the CPU backend against llama.cpp's oracle for one shared model:
//   npx tsx bench/oracle-steps.ts stories260K.gguf
// Prints, for each of the oracle's cases, the largest |Δ| over the top-8 log-probs at each step.
import { CpuBackend } from '../src/backends/cpu/index.ts';
import { sharedPath } from '../test/helpers/shared.ts';
import { readOracle, runOracle } from '../test/model/oracle-runner.ts';

const model = process.argv[2] ?? 'stories260K.gguf';
const oracle = readOracle(process.argv[3] ?? sharedPath('oracle', model.replace(/\.gguf$/, '.json')));
const r = await runOracle(sharedPath('models', model), oracle, new CpuBackend());
for (const c of r.cases) {
  const tail = c.mismatchAt ? ` DIVERGED@${c.mismatchAt.step} gap ${c.mismatchAt.gap.toFixed(3)}` : c.nearTieAt !== undefined ? ` near tie@${c.nearTieAt}` : '';
  console.log(`${JSON.stringify(c.prompt).padEnd(40)} ${c.stepDeltas.map((d) => d.toExponential(0)).join(' ')}${tail}`);
}
const all = r.cases.flatMap((c) => c.stepDeltas).sort((a, b) => a - b);
const q = (f: number): string => all[Math.floor(f * (all.length - 1))]!.toExponential(1);
console.log(`step 0: ${r.cases.map((c) => c.stepDeltas[0]!.toExponential(0)).join(' ')}`);
console.log(`exact (<2e-5) ${all.filter((d) => d < 2e-5).length}; steps ${all.length}: median ${q(0.5)}, p90 ${q(0.9)}, >1e-4 ${all.filter((d) => d > 1e-4).length}, >1e-3 ${all.filter((d) => d > 1e-3).length}`);
console.log(`${model}: max |Δ| ${r.maxDelta.toExponential(2)}, matched ${r.matched}/${r.total}, ${(r.ms / 1000).toFixed(1)} s`);
