// The CPU backend against llama.cpp on every model in shared/models (the suite: oracle-suite.ts).
import { missingShared, sharedModels } from '../helpers/shared.ts';
import { oracleSuite } from './oracle-suite.ts';

const skip = missingShared('oracle');
oracleSuite('oracle: CPU backend vs llama.cpp', skip ? [] : sharedModels().map((m) => [m, '.'] as const), skip !== undefined);
