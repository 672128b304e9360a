// The CPU backend against llama.cpp on the new-architecture files (shared/new-archs: Llama 3 with
// rope_freqs and a tied head, Gemma 2, Phi-3); the suite is oracle-suite.ts.
import { missingShared, sharedNewArchModels } from '../helpers/shared.ts';
import { oracleSuite } from './oracle-suite.ts';

const skip = missingShared('new-archs', 'oracle');
oracleSuite('oracle: CPU backend vs llama.cpp, new architectures', skip ? [] : sharedNewArchModels().map((m) => [m, 'new-archs'] as const), skip !== undefined);
