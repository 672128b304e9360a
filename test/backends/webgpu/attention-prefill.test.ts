// Prefill attention on WebGPU against the CPU reference (test/backends/attention-prefill-suite.ts).
import { attentionPrefillSuite } from '../attention-prefill-suite.ts';
import { gpuPresent, openGpu } from './gpu.ts';

attentionPrefillSuite('webgpu', await gpuPresent(), () => openGpu({ exact: false }));
