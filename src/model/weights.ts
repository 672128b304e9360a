// Loads a model's weights from a GGUF file onto a backend, in their GGUF types, checking every shape.
// The architecture (arch/) says which tensors exist. Fused projections (phi3's attn_qkv and gate|up
// ffn_up) are split by rows at load into ordinary weights: a row range of a GGUF matrix is a byte
// range, each output of a matmul depends only on its own weight row, and so every backend's matmul
// (exact and fast kernels, binding-size splits) serves the parts unchanged and bit for bit. Every
// tensor of the file must be used: an unknown one (rope_factors_long, a q/k norm, ...) is refused
// by name, since ignoring it would quietly compute something else.
import type { Backend, Weight } from '../backends/backend.ts';
import { UnsupportedModelError } from '../errors.ts';
import type { GgufFile } from '../gguf/reader.ts';
import { GgmlType, typeName, type TensorInfo } from '../gguf/types.ts';
import type { Architecture } from './arch/index.ts';
import type { HParams } from './hparams.ts';

export interface LayerWeights {
  readonly attnNorm: Weight;
  readonly wq: Weight;
  readonly wk: Weight;
  readonly wv: Weight;
  readonly wo: Weight;
  readonly bq?: Weight;
  readonly bk?: Weight;
  readonly bv?: Weight;
  readonly bo?: Weight;
  /** RMS norm of the attention output before the residual add (gemma2). */
  readonly postAttnNorm?: Weight;
  readonly ffnNorm: Weight;
  readonly ffnGate: Weight;
  readonly ffnUp: Weight;
  readonly ffnDown: Weight;
  /** RMS norm of the feed-forward output before the residual add (gemma2). */
  readonly postFfnNorm?: Weight;
}

export interface ModelWeights {
  readonly tokenEmbd: Weight;
  readonly layers: readonly LayerWeights[];
  readonly outputNorm: Weight;
  /** output.weight, or token_embd.weight when the output is tied to the embeddings. */
  readonly output: Weight;
  /** rope_freqs.weight (Llama 3.1 rope scaling), ropeDim/2 frequency divisors, kept on the host. */
  readonly ropeFreqs?: Float32Array;
  /** Every distinct weight uploaded, for release. */
  readonly all: readonly Weight[];
}

/** A tensor to load: name, the shape ggml expects [cols (ne0), rows], and how it is split by rows. */
interface Want {
  readonly name: string;
  readonly cols: number;
  readonly rows: number;
  readonly optional?: boolean;
  /** Row ranges uploaded as separate weights, by the names the layers use (in row order). */
  readonly parts?: readonly (readonly [name: string, rows: number])[];
  /** Read to the host instead of uploaded. */
  readonly host?: boolean;
}

export async function loadWeights(
  file: GgufFile,
  backend: Backend,
  hp: HParams,
  arch: Architecture,
  onProgress?: (loaded: number, total: number) => void,
): Promise<ModelWeights> {
  const wants = wantedTensors(file, hp, arch);
  const infos = new Map<string, TensorInfo>();
  for (const w of wants) {
    const info = file.tensor(w.name);
    if (!info) {
      if (w.optional) continue;
      throw new UnsupportedModelError(`${file.path}: tensor ${w.name} is missing; it is required by the ${arch.name} architecture`);
    }
    const rows = info.dims.slice(1).reduce((a, b) => a * b, 1);
    if (info.dims[0] !== w.cols || rows !== w.rows) {
      throw new UnsupportedModelError(`${file.path}: tensor ${w.name} has shape [${info.dims.join(', ')}], expected [${w.cols}, ${w.rows}] from the hyper-parameters`);
    }
    if (w.parts) checkSplit(file.path, w, info);
    infos.set(w.name, info);
  }
  const wanted = new Set(wants.map((w) => w.name));
  for (const t of file.tensors) {
    if (!wanted.has(t.name)) {
      throw new UnsupportedModelError(
        `${file.path}: tensor ${t.name} is not used by rocforge's ${arch.name} architecture; ignoring it would compute something else, so this model is not supported`,
      );
    }
  }

  const byName = new Map(wants.map((w) => [w.name, w]));
  const total = [...infos.values()].reduce((s, i) => s + i.nbytes, 0);
  let loaded = 0;
  const uploaded = new Map<string, Weight>();
  let ropeFreqs: Float32Array | undefined;
  try {
    for (const [name, info] of infos) {
      const w = byName.get(name)!;
      const bytes = await file.readTensor(info);
      const cols = info.dims[0]!;
      if (w.host) {
        if (info.type !== GgmlType.F32) throw new UnsupportedModelError(`${file.path}: tensor ${name} must be F32, got ${typeName(info.type)}`);
        ropeFreqs = new Float32Array(bytes.slice().buffer, 0, info.nElements);
      } else if (w.parts) {
        const rowBytes = info.nbytes / w.rows;
        let lo = 0;
        for (const [part, rows] of w.parts) {
          const slice = bytes.subarray(lo * rowBytes, (lo + rows) * rowBytes);
          uploaded.set(part, await backend.uploadWeight(`${name}[${lo}..${lo + rows})`, info.type, rows, cols, slice));
          lo += rows;
        }
      } else {
        uploaded.set(name, await backend.uploadWeight(name, info.type, info.nElements / cols, cols, bytes));
      }
      loaded += info.nbytes;
      onProgress?.(loaded, total);
    }
  } catch (e) {
    for (const w of uploaded.values()) backend.release(w);
    throw e;
  }

  const get = (name: string): Weight => uploaded.get(name)!;
  const opt = (name: string): Weight | undefined => uploaded.get(name);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blk.${l}.`;
    layers.push({
      attnNorm: get(`${b}attn_norm.weight`),
      wq: get(`${b}attn_q.weight`),
      wk: get(`${b}attn_k.weight`),
      wv: get(`${b}attn_v.weight`),
      wo: get(`${b}attn_output.weight`),
      bq: opt(`${b}attn_q.bias`),
      bk: opt(`${b}attn_k.bias`),
      bv: opt(`${b}attn_v.bias`),
      bo: opt(`${b}attn_output.bias`),
      postAttnNorm: opt(`${b}post_attention_norm.weight`),
      ffnNorm: get(`${b}ffn_norm.weight`),
      ffnGate: get(`${b}ffn_gate.weight`),
      ffnUp: get(`${b}ffn_up.weight`),
      ffnDown: get(`${b}ffn_down.weight`),
      postFfnNorm: opt(`${b}post_ffw_norm.weight`),
    });
  }
  const tokenEmbd = get('token_embd.weight');
  const output = opt('output.weight');
  return {
    tokenEmbd,
    layers,
    outputNorm: get('output_norm.weight'),
    output: output ?? tokenEmbd,
    ...(ropeFreqs ? { ropeFreqs } : {}),
    all: [...uploaded.values()],
  };
}

/** The tensors the architecture reads, with their shapes from the hyper-parameters. */
function wantedTensors(file: GgufFile, hp: HParams, arch: Architecture): Want[] {
  const qDim = hp.nHeads * hp.headDim;
  const kvDim = hp.nKvHeads * hp.headDim;
  const vec = (name: string, n: number, optional = false): Want => ({ name, cols: n, rows: 1, optional });
  const mat = (name: string, cols: number, rows: number): Want => ({ name, cols, rows });

  const wants: Want[] = [mat('token_embd.weight', hp.dim, hp.vocabSize), vec('output_norm.weight', hp.dim)];
  // Tied heads have no output.weight; a gemma2 file never has one (llama.cpp would not load it).
  if (arch.output === 'required' || (arch.output === 'optional' && file.tensor('output.weight'))) wants.push(mat('output.weight', hp.dim, hp.vocabSize));
  // rope_freqs.weight: one tensor for every layer (llama.cpp duplicates it per layer).
  if (arch.ropeFreqs) wants.push({ ...vec('rope_freqs.weight', hp.ropeDim / 2, true), host: true });
  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blk.${l}.`;
    wants.push(vec(`${b}attn_norm.weight`, hp.dim));
    if (arch.fusedQkv) {
      wants.push({
        ...mat(`${b}attn_qkv.weight`, hp.dim, qDim + 2 * kvDim),
        parts: [
          [`${b}attn_q.weight`, qDim],
          [`${b}attn_k.weight`, kvDim],
          [`${b}attn_v.weight`, kvDim],
        ],
      });
    } else {
      wants.push(mat(`${b}attn_q.weight`, hp.dim, qDim), mat(`${b}attn_k.weight`, hp.dim, kvDim), mat(`${b}attn_v.weight`, hp.dim, kvDim));
    }
    wants.push(
      mat(`${b}attn_output.weight`, qDim, hp.dim),
      vec(`${b}attn_q.bias`, qDim, !arch.qkvBias),
      vec(`${b}attn_k.bias`, kvDim, !arch.qkvBias),
      vec(`${b}attn_v.bias`, kvDim, !arch.qkvBias),
      vec(`${b}attn_output.bias`, hp.dim, true),
      vec(`${b}ffn_norm.weight`, hp.dim),
    );
    if (arch.postNorms) wants.push(vec(`${b}post_attention_norm.weight`, hp.dim), vec(`${b}post_ffw_norm.weight`, hp.dim));
    if (arch.fusedGateUp) {
      wants.push({
        ...mat(`${b}ffn_up.weight`, hp.dim, 2 * hp.ffnDim),
        parts: [
          [`${b}ffn_gate.weight`, hp.ffnDim],
          [`${b}ffn_up.weight`, hp.ffnDim],
        ],
      });
    } else {
      wants.push(mat(`${b}ffn_gate.weight`, hp.dim, hp.ffnDim), mat(`${b}ffn_up.weight`, hp.dim, hp.ffnDim));
    }
    wants.push(mat(`${b}ffn_down.weight`, hp.ffnDim, hp.dim));
  }
  return wants;
}

/**
 * A split changes nothing a kernel depends on, except llama.cpp's choice to repack Q4_0 matrices
 * whose row count is a multiple of 8 (CPU backend, kernel-choice.ts): a part must fall on the same
 * side of that rule as the whole matrix, which holds for every real model's head and ffn sizes.
 */
function checkSplit(path: string, w: Want, info: TensorInfo): void {
  if (info.type !== GgmlType.Q4_0) return;
  for (const [part, rows] of w.parts!) {
    if (rows % 8 === 0 !== (w.rows % 8 === 0)) {
      throw new UnsupportedModelError(
        `${path}: ${w.name} is Q4_0 with ${w.rows} rows, and its ${part} part of ${rows} rows would take another llama.cpp kernel (repacking needs rows in multiples of 8); requantize it to another type`,
      );
    }
  }
}
