// The new architectures' ops on WebGPU against the CPU reference (test/backends/new-ops-suite.ts).
import { newOpsSuite } from '../new-ops-suite.ts';
import { gpuPresent, openGpu } from './gpu.ts';

newOpsSuite('webgpu', await gpuPresent(), (opts) => openGpu(opts));
