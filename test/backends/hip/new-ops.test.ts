// The new architectures' ops on HIP against the CPU reference (test/backends/new-ops-suite.ts).
import { newOpsSuite } from '../new-ops-suite.ts';
import { hipPresent, openHip } from './hip.ts';

newOpsSuite('hip', await hipPresent(), (opts) => openHip(opts));
