// Continuous batching on WebGPU: the exact kernels pick llama.cpp's single-row or batched kernel per
// row (Backend.describeBatch), as the CPU backend does, so a sequence's logits do not depend on which
// other sequences share its batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../../../src/backends/webgpu/index.ts';
import { GgufFile } from '../../../src/gguf/reader.ts';
import { Model } from '../../../src/model/model.ts';
import { missingShared, sharedPath } from '../../helpers/shared.ts';
import { gpuPresent, openGpu } from './gpu.ts';
import { decodeRowLogits } from '../../helpers/batch-invariance.ts';

const present = await gpuPresent();
const skip = missingShared('models', 'stories260K.gguf');
if (skip) console.warn(`skipped: ${skip}`);

describe.skipIf(!present || skip !== undefined)('webgpu batching on stories260K', () => {
  let gpu: WebGpuBackend;
  let model: Model;
  beforeAll(async () => {
    gpu = await openGpu();
    const file = await GgufFile.open(sharedPath('models', 'stories260K.gguf'));
    model = await Model.load(file, gpu);
    await file.close();
  });
  afterAll(() => {
    model?.dispose();
    gpu?.dispose();
  });

  it('gives a decode row the same logits alone as beside other sequences decoding or prefilling', async () => {
    const run = (extra: number[][]): Promise<Float32Array> => decodeRowLogits(model, extra);
    const alone = await run([]);
    // The prefilling sequence sits both after and before the decode row's neighbours.
    const withDecode = await run([[1, 1, 0]]);
    const withPrefill = await run([[1, 2, 0], [403, 2, 1], [407, 2, 2]]);
    const mixed = await run([[1, 2, 0], [403, 2, 1], [1, 1, 0], [407, 2, 2]]);
    expect(alone.some((v) => v !== 0)).toBe(true);
    expect(Array.from(withDecode)).toEqual(Array.from(alone));
    expect(Array.from(withPrefill)).toEqual(Array.from(alone));
    expect(Array.from(mixed)).toEqual(Array.from(alone));
  });
});
