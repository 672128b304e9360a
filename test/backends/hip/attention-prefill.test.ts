// Prefill attention on HIP against the CPU reference (test/backends/attention-prefill-suite.ts).
import { attentionPrefillSuite } from '../attention-prefill-suite.ts';
import { hipPresent, openHip } from './hip.ts';

attentionPrefillSuite('hip', await hipPresent(), () => openHip({ exact: false }));
