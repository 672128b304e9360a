// Loads a model's weights from a GGUF file onto a backend, in their GGUF types, checking every shape.
import type { Backend, Weight } from '../backends/backend.ts';
import { UnsupportedModelError } from '../errors.ts';
import type { GgufFile } from '../gguf/reader.ts';
import type { TensorInfo } from '../gguf/types.ts';
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
  readonly ffnNorm: Weight;
  readonly ffnGate: Weight;
  readonly ffnUp: Weight;
  readonly ffnDown: Weight;
}

export interface ModelWeights {
  readonly tokenEmbd: Weight;
  readonly layers: readonly LayerWeights[];
  readonly outputNorm: Weight;
  /** output.weight, or token_embd.weight when the output is tied to the embeddings. */
  readonly output: Weight;
  /** Every distinct weight uploaded, for release. */
  readonly all: readonly Weight[];
}

/** A tensor to load: name and the shape ggml expects, [cols (ne0), rows]. */
interface Want {
  readonly name: string;
  readonly cols: number;
  readonly rows: number;
  readonly optional?: boolean;
}

export async function loadWeights(
  file: GgufFile,
  backend: Backend,
  hp: HParams,
  arch: Architecture,
  onProgress?: (loaded: number, total: number) => void,
): Promise<ModelWeights> {
  const qDim = hp.nHeads * hp.headDim;
  const kvDim = hp.nKvHeads * hp.headDim;
  const vec = (name: string, n: number, optional = false): Want => ({ name, cols: n, rows: 1, optional });
  const mat = (name: string, cols: number, rows: number): Want => ({ name, cols, rows });
  const tied = !file.tensor('output.weight');

  const wants: Want[] = [mat('token_embd.weight', hp.dim, hp.vocabSize), vec('output_norm.weight', hp.dim)];
  if (!tied) wants.push(mat('output.weight', hp.dim, hp.vocabSize));
  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blk.${l}.`;
    wants.push(
      vec(`${b}attn_norm.weight`, hp.dim),
      mat(`${b}attn_q.weight`, hp.dim, qDim),
      mat(`${b}attn_k.weight`, hp.dim, kvDim),
      mat(`${b}attn_v.weight`, hp.dim, kvDim),
      mat(`${b}attn_output.weight`, qDim, hp.dim),
      vec(`${b}attn_q.bias`, qDim, !arch.qkvBias),
      vec(`${b}attn_k.bias`, kvDim, !arch.qkvBias),
      vec(`${b}attn_v.bias`, kvDim, !arch.qkvBias),
      vec(`${b}attn_output.bias`, hp.dim, true),
      vec(`${b}ffn_norm.weight`, hp.dim),
      mat(`${b}ffn_gate.weight`, hp.dim, hp.ffnDim),
      mat(`${b}ffn_up.weight`, hp.dim, hp.ffnDim),
      mat(`${b}ffn_down.weight`, hp.ffnDim, hp.dim),
    );
  }

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
    infos.set(w.name, info);
  }

  const total = [...infos.values()].reduce((s, i) => s + i.nbytes, 0);
  let loaded = 0;
  const uploaded = new Map<string, Weight>();
  try {
    for (const [name, info] of infos) {
      const bytes = await file.readTensor(info);
      uploaded.set(name, await backend.uploadWeight(name, info.type, info.nElements / info.dims[0]!, info.dims[0]!, bytes));
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
      ffnNorm: get(`${b}ffn_norm.weight`),
      ffnGate: get(`${b}ffn_gate.weight`),
      ffnUp: get(`${b}ffn_up.weight`),
      ffnDown: get(`${b}ffn_down.weight`),
    });
  }
  const tokenEmbd = get('token_embd.weight');
  return {
    tokenEmbd,
    layers,
    outputNorm: get('output_norm.weight'),
    output: tied ? tokenEmbd : get('output.weight'),
    all: [...uploaded.values()],
  };
}
