// Cross-backend prompt fuzzing on the synth-qwen2-256 files of ../shared/models (see cross-backend.ts).
// A long campaign: ROCFORGE_FUZZ_RUNS=200 npx vitest run test/property/fuzz- --shard=1/3 (and 2/3, 3/3).
import { fuzzCampaign } from './cross-backend.ts';

fuzzCampaign('cross-backend fuzz: synth-qwen2-256', (m) => m.startsWith('synth-qwen2-256'));
