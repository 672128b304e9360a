// The model's tap: off by default and free when off (forward reads back only the logits), and when
// on it reads every op's output at the moment the op wrote it (scratch tensors are reused, so a
// late read would see a later op's values).
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { Model, type TapRecord } from '../../src/model/model.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import { countingReads } from './broken-backends.ts';

const skip = missingShared('models', 'stories260K.gguf');

async function load(path: string, backend: Backend = new CpuBackend()): Promise<Model> {
  const file = await GgufFile.open(path);
  try {
    return await Model.load(file, backend);
  } finally {
    await file.close();
  }
}

const batch = (tokens: number[], pos = 0) => ({
  tokens: Int32Array.from(tokens),
  slots: new Int32Array(tokens.length),
  positions: Int32Array.from(tokens, (_, i) => pos + i),
  logitRows: Int32Array.of(tokens.length - 1),
});

describe.skipIf(skip !== undefined)('model tap', () => {
  it('forward() reads back the logits and nothing else; forwardTapped gives the same logits bit for bit', async () => {
    const { backend, reads } = countingReads(new CpuBackend());
    const model = await load(sharedPath('models', 'stories260K.gguf'), backend);
    const cache = model.createKvCache(1, 16);
    const plain = await model.forward(batch([1, 400, 300, 250]), cache);
    expect(reads()).toBe(1);
    const tapped = await model.forwardTapped(batch([1, 400, 300, 250]), cache);
    expect(reads()).toBe(1 + tapped.taps.length);
    expect(new Int32Array(tapped.logits.buffer)).toEqual(new Int32Array(plain.buffer));
    backend.release(cache);
    model.dispose();
  });

  it('names every op of every layer in graph order, with its op and weight type', async () => {
    const model = await load(sharedPath('models', 'stories260K.gguf'));
    const cache = model.createKvCache(1, 16);
    const { taps } = await model.forwardTapped(batch([1, 400, 300]), cache);
    const L = model.hparams.nLayers;
    const layer = ['attn_norm', 'q', 'k', 'v', 'rope_q', 'rope_k', 'kqv', 'attn_out', 'ffn_inp', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_act', 'ffn_out', 'l_out'];
    const lastLayer = [...layer.slice(0, 9), 'out_rows', ...layer.slice(9)];
    const want = [
      'inp_embd@-1',
      ...Array.from({ length: L - 1 }, (_, l) => layer.map((n) => `${n}@${l}`)).flat(),
      ...lastLayer.map((n) => `${n}@${L - 1}`),
      `result_norm@${L}`,
      `logits@${L}`,
    ];
    expect(taps.map((t) => `${t.name}@${t.layer}`)).toEqual(want);
    const q0 = taps.find((t) => t.name === 'q' && t.layer === 0)!;
    expect(q0.op).toBe('matmul');
    expect(q0.weightType).toBeDefined();
    expect(taps.find((t) => t.name === 'rope_k')!.op).toBe('rope');
    // All rows of the pass, except after the last layer's out_rows (the wanted row only).
    expect(taps.find((t) => t.name === 'kqv' && t.layer === L - 1)!.rows).toBe(3);
    expect(taps.find((t) => t.name === 'ffn_out' && t.layer === L - 1)!.rows).toBe(1);
    model.backend.release(cache);
    model.dispose();
  });

  it('reads each tensor when its op wrote it: the residual adds hold exactly, layer after layer', async () => {
    const model = await load(sharedPath('models', 'stories260K.gguf'));
    const cache = model.createKvCache(1, 16);
    const { taps } = await model.forwardTapped(batch([1, 403, 263, 304]), cache);
    const get = (name: string, l: number): TapRecord => taps.find((t) => t.name === name && t.layer === l)!;
    const L = model.hparams.nLayers;
    for (let l = 0; l < L - 1; l++) {
      // x (the residual, reused in place) before this layer, plus Wo's output, is ffn_inp; ffn_inp
      // plus Wdown's output is l_out. A tap read after a later op would break these f32 sums.
      const x = l === 0 ? get('inp_embd', -1) : get('l_out', l - 1);
      const sum = (a: TapRecord, b: TapRecord) => Float32Array.from(a.data, (v, i) => v + b.data[i]!);
      expect(get('ffn_inp', l).data).toEqual(sum(x, get('attn_out', l)));
      expect(get('l_out', l).data).toEqual(sum(get('ffn_inp', l), get('ffn_out', l)));
      // q before rope and rope_q after it are different reads of the same scratch tensor.
      expect(get('rope_q', l).data).not.toEqual(get('q', l).data);
    }
    model.backend.release(cache);
    model.dispose();
  });
});
