// The long-prompt oracle (../shared/oracle/long: prompts of 563 and 1661 tokens) on the HIP backend,
// under the CPU suite's rule and bounds (test/model/long-oracle.test.ts): every long file that the
// shared data holds (on the GPU machine, those carried there).
import { afterAll, describe, expect, it } from 'vitest';
import type { HipBackend } from '../../../src/backends/hip/index.ts';
import { missingShared } from '../../helpers/shared.ts';
import { longOracleModels, runLongOracle } from '../../model/oracle-runner.ts';
import { hipPresent, openHip } from './hip.ts';

const skip = missingShared('oracle', 'long');
const present = skip ? false : await hipPresent();
let hip: HipBackend | undefined;
const models = present ? longOracleModels() : [];

describe.skipIf(!present)('long-prompt oracle: HIP backend vs llama.cpp', () => {
  afterAll(() => hip?.dispose());
  for (const model of models) {
    it(model, { timeout: 900_000 }, async () => {
      hip ??= await openHip();
      const r = await runLongOracle(model, hip);
      console.log(`hip ${r.line}`);
      expect(r.leaked).toBe(0);
      expect(r.mismatches).toEqual([]);
      expect(r.maxDelta).toBeLessThanOrEqual(r.bound);
    });
  }
});
