// Cross-backend prompt fuzzing on the stories260K files of ../shared/models, and on any file the
// synth-* campaigns do not take (see cross-backend.ts).
// A long campaign: ROCFORGE_FUZZ_RUNS=200 npx vitest run test/property/fuzz- --shard=1/3 (and 2/3, 3/3).
import { fuzzCampaign } from './cross-backend.ts';

fuzzCampaign('cross-backend fuzz: stories260K and other files', (m) => !m.startsWith('synth-llama-256') && !m.startsWith('synth-qwen2-256'));
