// compareBackends end to end: identical engines agree bit for bit op by op, the reference's greedy
// tokens are the engine's, backends that cannot open are skipped with their reason (or fail when
// required), non-finite logits are caught, and the three report formats hold what they promise.
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backends/backend.ts';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { compareBackends } from '../../src/diff/compare.ts';
import { formatTerminal, toJson } from '../../src/diff/report.ts';
import { renderHtml } from '../../src/diff/report-html.ts';
import { InferenceEngine } from '../../src/engine/engine.ts';
import { BackendUnavailableError, InvalidRequestError } from '../../src/errors.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import { openGpu } from './gpus.ts';

const skip = missingShared('models', 'stories260K.gguf');
const webgpu = skip ? undefined : await openGpu('webgpu', 'exact');
afterAll(() => webgpu?.dispose());
const model = sharedPath('models', 'stories260K.gguf');

/** A backend whose reads of logits-sized tensors come back as NaN (a kernel writing garbage). */
function nanLogits(inner: Backend, vocab: number): Backend {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'read') {
        return async (t: Tensor) => {
          const v = await target.read(t);
          return t.cols === vocab ? v.fill(NaN) : v;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe.skipIf(skip !== undefined)('compareBackends', () => {
  it('two CPU engines: every tensor of every step bit-identical, and the reference decodes like the engine', async () => {
    const prompts = ['Once upon a time', 'The little dog'];
    const r = await compareBackends({
      model,
      backends: [{ label: 'cpu', backend: new CpuBackend() }, { label: 'cpu2', backend: new CpuBackend() }],
      prompts,
      steps: 6,
      ubatch: 3,
    });
    expect(r.passed).toBe(true);
    const p = r.pairs[0]!;
    expect(p.divergence).toBeUndefined();
    expect(p.summary).toMatchObject({ stepsCompared: 12, greedyAgree: 12, maxLogitsNmse: 0, maxAbsLogprob: 0, minTopKOverlap: 8, tensorsOverThreshold: 0 });
    // One stat per (layer, tensor): 15 per layer, out_rows in the last, inp_embd, result_norm and logits.
    expect(p.ops).toHaveLength(15 * r.nLayers + 4);
    expect(p.ops.every((t) => t.nmse === 0 && t.maxAbs === 0 && t.threshold === 0)).toBe(true);
    // Prompts went through in ubatches of 3; the greedy tokens are still the engine's.
    const engine = await InferenceEngine.create(model, { backend: 'cpu' });
    try {
      for (const [i, text] of prompts.entries()) {
        const g = await engine.generate(text, { temperature: 0, maxTokens: 6 });
        expect(r.cases[i]!.tokens).toEqual(g.tokens);
        expect(r.cases[i]!.completion).toBe(g.text);
      }
    } finally {
      await engine.dispose();
    }
  });

  it.skipIf(!webgpu)('cpu vs webgpu, exact numerics: identical op by op on a float and a quantized model', async () => {
    for (const m of ['stories260K.gguf', 'stories260K-Q4_K_M.gguf']) {
      const r = await compareBackends({
        model: sharedPath('models', m),
        backends: [{ label: 'cpu', backend: new CpuBackend() }, { label: 'webgpu', backend: webgpu! }],
        prompts: ['Once upon a time', 'Hello, world!'],
        steps: 4,
      });
      expect(r.pairs[0]!.divergence, formatTerminal(r)).toBeUndefined();
      expect(r.passed).toBe(true);
    }
  });

  it('a backend that cannot open is skipped with its reason; fewer than two left is an error; a required one fails', async () => {
    // hip opens only on a GPU machine with the native library built; elsewhere this is the path taken.
    const hip = await compareBackends({ model, backends: ['cpu', 'hip'], prompts: ['Hi'], steps: 1 }).then(
      (r) => r,
      (e: unknown) => e,
    );
    if (hip instanceof Error) {
      expect(hip).toBeInstanceOf(BackendUnavailableError);
      expect(hip.message).toMatch(/^diff needs two backends that open here, got cpu \(hip: .+\)$/);
      await expect(compareBackends({ model, backends: ['cpu', 'hip'], prompts: ['Hi'], steps: 1, require: ['hip'] })).rejects.toThrow(BackendUnavailableError);
      const r = await compareBackends({ model, backends: ['cpu', { label: 'cpu2', backend: new CpuBackend() }, 'hip'], prompts: ['Hi'], steps: 1 });
      expect(r.skipped).toEqual([{ name: 'hip', reason: expect.any(String) }]);
      expect(formatTerminal(r)).toContain(`skipped   hip: ${r.skipped[0]!.reason}`);
    } else {
      expect((hip as { passed: boolean }).passed).toBe(true);
    }
  });

  it('rejects a backend listed twice, no prompts, and a prompt that does not fit', async () => {
    const cpu = new CpuBackend();
    await expect(compareBackends({ model, backends: [{ label: 'cpu', backend: cpu }, { label: 'cpu', backend: cpu }], prompts: ['a'] })).rejects.toThrow(InvalidRequestError);
    await expect(compareBackends({ model, backends: ['cpu', { label: 'x', backend: cpu }], prompts: [] })).rejects.toThrow(/no prompts/);
    await expect(compareBackends({ model, backends: ['cpu', { label: 'x', backend: cpu }], prompts: [[1, 99999]], steps: 1 })).rejects.toThrow(/outside the vocabulary/);
  });

  it('non-finite logits fail the pair: as the logits tensor with taps, as a step without', async () => {
    const backends = () => [{ label: 'cpu', backend: new CpuBackend() }, { label: 'nan', backend: nanLogits(new CpuBackend(), 512) }];
    const tapped = await compareBackends({ model, backends: backends(), prompts: ['Once'], steps: 2 });
    const f = tapped.pairs[0]!.firstFailure!;
    expect(f.kind === 'tensor' && [f.tap.name, f.tap.nmse]).toEqual(['logits', Infinity]);
    const plain = await compareBackends({ model, backends: backends(), prompts: ['Once'], steps: 2, taps: false });
    expect(plain.pairs[0]!.firstFailure?.kind).toBe('non-finite');
    expect(plain.pairs[0]!.summary.nonFiniteSteps).toBe(2);
    expect(plain.pairs[0]!.ops).toEqual([]);
  });

  it('reports: JSON keeps infinities, HTML is one self-contained page with a log-scale chart per pair', async () => {
    const r = await compareBackends({
      model,
      backends: [{ label: 'cpu', backend: new CpuBackend() }, { label: 'nan', backend: nanLogits(new CpuBackend(), 512) }],
      prompts: ['Once upon <a> time & "more"'],
      steps: 2,
    });
    const j = JSON.parse(toJson(r)) as { pairs: Array<{ firstFailure: { tap: { nmse: unknown } } }> };
    expect(j.pairs[0]!.firstFailure.tap.nmse).toBe('Infinity');
    const html = renderHtml(r);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|href=/i);
    expect(html).toContain('<svg');
    // One line per tensor name, its points on the log axis; the prompt escaped.
    expect(html.match(/<polyline /g)!.length).toBe(new Set(r.pairs[0]!.ops.map((t) => t.name)).size);
    expect(html).toContain('Once upon &#60;a&#62; time &#38; &#34;more&#34;');
    expect(html).toContain('FAIL');
    const text = formatTerminal(r);
    expect(text).toMatch(/^rocforge diff: stories260K\.gguf, numerics exact, 1 prompt x up to 2 steps/);
    expect(text).toMatch(/first failing: logits \(matmul F32\) in layer out: NMSE Infinity > 0/);
    expect(text.split('\n').at(-1)).toMatch(/^summary: 1 pair compared, 1 over a threshold: FAIL/);
  });
});
