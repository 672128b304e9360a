// Builds WGSL modules from the files in shaders/: an op shader (shaders/<op>.wgsl) is prefixed by
// the pieces it needs, a reduction (shaders/common/reduce-*.wgsl, subgroup or workgroup-memory
// flavour) and/or the dequant helpers for one weight type (shaders/dequant/common.wgsl + the
// type's file). Per-type variants are thus generated from one copy of each dequant routine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GgmlType, typeName } from '../../gguf/types.ts';
import { UnsupportedTensorTypeError } from '../../quant/registry.ts';
import { packagePath } from '../../package-root.ts';

export const SHADER_DIR = packagePath('shaders');

/** Weight types the WGSL dequant helpers implement (gpu/kernels.ts GPU_WEIGHT_TYPES), with their file and extra dependencies. */
const DEQUANT_FILES: ReadonlyMap<GgmlType, readonly string[]> = new Map([
  [GgmlType.F32, ['f32.wgsl']],
  [GgmlType.F16, ['f16.wgsl']],
  [GgmlType.BF16, ['bf16.wgsl']],
  [GgmlType.Q4_0, ['q4_0.wgsl']],
  [GgmlType.Q4_1, ['q4_1.wgsl']],
  [GgmlType.Q5_0, ['q5_0.wgsl']],
  [GgmlType.Q5_1, ['q5_1.wgsl']],
  [GgmlType.Q8_0, ['q8_0.wgsl']],
  [GgmlType.IQ4_NL, ['iq4_nl.wgsl']],
  [GgmlType.Q2_K, ['q2_k.wgsl']],
  [GgmlType.Q3_K, ['q3_k.wgsl']],
  [GgmlType.Q4_K, ['kquant-scales.wgsl', 'q4_k.wgsl']],
  [GgmlType.Q5_K, ['kquant-scales.wgsl', 'q5_k.wgsl']],
  [GgmlType.Q6_K, ['q6_k.wgsl']],
]);

export function webgpuWeightTypes(): GgmlType[] {
  return [...DEQUANT_FILES.keys()];
}

const cache = new Map<string, string>();

function load(rel: string): string {
  let src = cache.get(rel);
  if (src === undefined) {
    src = readFileSync(join(SHADER_DIR, rel), 'utf8');
    cache.set(rel, src);
  }
  return src;
}

export interface ComposeOptions {
  /** The op shader, relative to shaders/ (e.g. 'matvec.wgsl'). */
  readonly op: string;
  /** Weight type whose dq4/dq1 helpers the op uses. */
  readonly dequant?: GgmlType;
  /** Whether the op uses wg_sum/wg_max, and which flavour. */
  readonly reduce?: 'subgroup' | 'shared';
  /** Helper files from shaders/common/ (e.g. 'half.wgsl'). */
  readonly includes?: readonly string[];
}

export function composeShader(o: ComposeOptions): string {
  const parts: string[] = [];
  if (o.reduce === 'subgroup') parts.push('enable subgroups;\n');
  parts.push(`// ---- composed: ${o.op}${o.dequant !== undefined ? ` for ${typeName(o.dequant)}` : ''}${o.reduce ? `, ${o.reduce} reductions` : ''}\n`);
  if (o.reduce) parts.push(load(`common/reduce-${o.reduce}.wgsl`));
  for (const f of o.includes ?? []) parts.push(load(`common/${f}`));
  if (o.dequant !== undefined) {
    const files = DEQUANT_FILES.get(o.dequant);
    if (!files) throw new UnsupportedTensorTypeError(o.dequant);
    parts.push(load('dequant/common.wgsl'));
    for (const f of files) parts.push(load(`dequant/${f}`));
  }
  parts.push(load(o.op));
  return parts.join('\n');
}
