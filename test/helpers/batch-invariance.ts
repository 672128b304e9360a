// Shared by the CPU and WebGPU batching tests: the logits of one decode row of a stories260K prompt,
// run alone or beside other sequences' rows, so a test can demand they are bit-identical.
import type { Model } from '../../src/model/model.ts';

/** Prompt [1, 403, 407, 261, 378] in slot 0, then token 291 decoded at position 5 beside `extra` rows [token, slot, position]. */
export async function decodeRowLogits(model: Model, extra: number[][]): Promise<Float32Array> {
  const p = [1, 403, 407, 261, 378];
  const cache = model.createKvCache(3, 16);
  try {
    await model.forward({ tokens: Int32Array.from(p), slots: new Int32Array(p.length), positions: Int32Array.from(p, (_, i) => i), logitRows: Int32Array.of(p.length - 1) }, cache);
    const rows = [[291, 0, p.length], ...extra];
    const logits = await model.forward(
      { tokens: Int32Array.from(rows, (r) => r[0]!), slots: Int32Array.from(rows, (r) => r[1]!), positions: Int32Array.from(rows, (r) => r[2]!), logitRows: Int32Array.from(rows, (_, i) => i) },
      cache,
    );
    return logits.slice(0, model.hparams.vocabSize);
  } finally {
    model.backend.release(cache);
  }
}
