// Cross-backend prompt fuzzing on the Llama 3 (rope frequency factors, tied head), Gemma 2 (soft-caps,
// sliding window on even layers, GELU) and Phi-3 (fused qkv and gate|up, sliding window) files of
// ../shared/new-archs/models: prompts up to the campaign's context run past the window of 16.
// A long campaign: ROCFORGE_FUZZ_RUNS=200 npx vitest run test/property/fuzz-new-archs.test.ts
import { fuzzCampaign } from './cross-backend.ts';

fuzzCampaign('cross-backend fuzz: llama3, gemma2, phi3', () => true, 'new-archs');
