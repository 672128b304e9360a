// The fuzz harness itself (cross-backend.ts) must be able to fail: its step rules on hand-made
// steps, and a whole campaign against a CPU backend with a planted rope bug, whose shrunk prompt
// comes back with the replay seed and the tapped re-run naming rope_q in layer 0.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import type { StepStat } from '../../src/diff/types.ts';
import { brokenRope } from '../diff/broken-backends.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import { fuzzModel, SEED, violations } from './cross-backend.ts';

const step = (s: Partial<StepStat>): StepStat => ({
  caseIndex: 0,
  step: 1,
  refToken: 5,
  token: 5,
  agree: true,
  top2Gap: 1,
  nearTie: false,
  logitsNmse: 0,
  maxAbsLogit: 0,
  maxAbsLogprob: 0,
  topKOverlap: 8,
  finite: true,
  threshold: 0,
  logprobBound: 0,
  ...s,
});

describe('fuzz harness', () => {
  it('exact numerics allow no difference at all; fast ones allow the table and near ties at their resolution', () => {
    expect(violations('exact', [step({})])).toEqual([]);
    expect(violations('exact', [step({ logitsNmse: 1e-30, maxAbsLogit: 1e-20 })])).toEqual(['step 1: logits differ (NMSE 1e-30, max |Δ| 1e-20)']);
    expect(violations('exact', [step({ finite: false })])).toEqual(['step 1: non-finite logits']);
    expect(violations('fast', [step({ logitsNmse: 1e-4, maxAbsLogit: 0.3, maxAbsLogprob: 0.3, agree: false, token: 6, top2Gap: 0.4 })])).toEqual([]);
    expect(violations('fast', [step({ logitsNmse: 0.2 })])).toEqual(['step 1: logits NMSE 0.2 > 0.01']);
    expect(violations('fast', [step({ maxAbsLogprob: 1.5 })])).toEqual(['step 1: top-k |Δlogprob| 1.5 > 1']);
    expect(violations('fast', [step({ agree: false, token: 6, top2Gap: 3 })])).toEqual(['step 1: greedy 6 vs 5 with a top-2 gap of 3']);
  });

  it.skipIf(missingShared('models', 'stories260K.gguf') !== undefined)('a campaign against a broken rope fails, shrinks, and names rope_q in layer 0', async () => {
    const r = await fuzzModel(
      sharedPath('models', 'stories260K.gguf'),
      [{ label: 'cpu', backend: new CpuBackend() }, { label: 'cpu+broken-rope', backend: brokenRope(new CpuBackend()) }],
      'exact',
      3,
    );
    expect(r.failure).toBeDefined();
    expect(r.failure).toContain('cpu+broken-rope vs cpu: step 1: logits differ');
    expect(r.failure).toContain(`replay with ROCFORGE_FUZZ_SEED=${SEED}`);
    expect(r.failure).toMatch(/first failing: rope_q \(rope\) in layer 0/);
  });
});
