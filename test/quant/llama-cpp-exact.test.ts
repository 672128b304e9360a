// The headline requirement of the quantization layer: quantizing the F32 weights of a model with our
// quantizers reproduces, byte for byte, every tensor llama.cpp's llama-quantize wrote (no imatrix).
// Mixed files (Q4_K_M, ...) hold several types; each tensor is compared in the type it has.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { GgufFile } from '../../src/gguf/reader.ts';
import { GgmlType, typeName } from '../../src/gguf/types.ts';
import { isSupported, quantizeTensor } from '../../src/quant/registry.ts';
import { missingShared, sharedModels, sharedNewArchModels, sharedPath } from '../helpers/shared.ts';

/** F32 originals and the llama.cpp-quantized files made from them, with the directory under shared/ holding their models/. */
const BASES: ReadonlyArray<readonly [string, string]> = [
  ['synth-llama-256', '.'],
  ['synth-qwen2-256', '.'],
  ['stories260K', '.'],
  ['synth-llama3-256', 'new-archs'],
  ['synth-gemma2-128', 'new-archs'],
  ['synth-phi3-256', 'new-archs'],
];

interface FileResult {
  file: string;
  matched: number;
  total: number;
  /** Per tensor type: [matched, total]. */
  byType: Map<string, [number, number]>;
  mismatches: string[];
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

async function compareBase(base: string, dir: string): Promise<FileResult[]> {
  const src = await GgufFile.open(sharedPath(dir, 'models', `${base}.gguf`));
  const originals = new Map<string, Float32Array>();
  const quantized = new Map<string, Uint8Array>();
  const results: FileResult[] = [];
  try {
    const variants = (dir === '.' ? sharedModels() : sharedNewArchModels()).filter((f) => f.startsWith(`${base}-`));
    for (const file of variants) {
      const q = await GgufFile.open(sharedPath(dir, 'models', file));
      const r: FileResult = { file, matched: 0, total: 0, byType: new Map(), mismatches: [] };
      try {
        for (const t of q.tensors) {
          const orig = src.tensor(t.name);
          const tname = typeName(t.type);
          const counts = r.byType.get(tname) ?? [0, 0];
          r.byType.set(tname, counts);
          r.total++;
          counts[1]++;
          if (!orig || orig.type !== GgmlType.F32) {
            r.mismatches.push(`${t.name}: no F32 original in ${base}.gguf`);
            continue;
          }
          if (!isSupported(t.type)) {
            r.mismatches.push(`${t.name}: type ${tname} not implemented`);
            continue;
          }
          let x = originals.get(t.name);
          if (!x) {
            const bytes = await src.readTensor(orig);
            x = new Float32Array(bytes.buffer, bytes.byteOffset, orig.nElements);
            originals.set(t.name, x);
          }
          const key = `${t.name}/${t.type}`;
          let ours = quantized.get(key);
          if (!ours) {
            ours = quantizeTensor(t.type, x);
            quantized.set(key, ours);
          }
          const theirs = await q.readTensor(t);
          const at = firstDiff(ours, theirs);
          if (at < 0) {
            r.matched++;
            counts[0]++;
          } else {
            const blockBytes = ours.length / (x.length / blockSizeOf(t.type));
            r.mismatches.push(
              `${t.name} (${tname}): first differing byte ${at} (block ${Math.floor(at / blockBytes)}, ` +
                `offset ${at % blockBytes}); ours ${ours[at]} vs llama.cpp ${theirs[at]}; ` +
                `${countDiffBlocks(ours, theirs, blockBytes)} blocks differ`,
            );
          }
        }
      } finally {
        await q.close();
      }
      results.push(r);
    }
  } finally {
    await src.close();
  }
  return results;
}

function blockSizeOf(t: GgmlType): number {
  return t === GgmlType.F32 || t === GgmlType.F16 || t === GgmlType.BF16 ? 1 : t >= GgmlType.Q2_K && t <= GgmlType.Q8_K ? 256 : 32;
}

function countDiffBlocks(a: Uint8Array, b: Uint8Array, blockBytes: number): number {
  let n = 0;
  for (let o = 0; o < a.length; o += blockBytes) {
    for (let k = 0; k < blockBytes; k++) {
      if (a[o + k] !== b[o + k]) {
        n++;
        break;
      }
    }
  }
  return n;
}

describe('quantizers reproduce llama.cpp byte for byte', () => {
  for (const [base, dir] of BASES) {
    const skip = existsSync(sharedPath(dir, 'models', `${base}.gguf`)) ? undefined : missingShared(dir, 'models', `${base}.gguf`);
    it.skipIf(skip !== undefined)(`every tensor of every ${base}-* file`, { timeout: 600_000 }, async () => {
      const results = await compareBase(base, dir);
      expect(results.length).toBeGreaterThan(0);
      const lines = results.map((r) => {
        const types = [...r.byType].map(([t, [m, n]]) => `${t} ${m}/${n}`).join(', ');
        return `${r.file}: ${r.matched}/${r.total} tensors (${types})`;
      });
      console.log(`byte-exact vs llama.cpp (${base}):\n  ${lines.join('\n  ')}`);
      const mismatches = results.flatMap((r) => r.mismatches.map((m) => `${r.file}: ${m}`));
      if (mismatches.length) {
        const shown = mismatches.slice(0, 30);
        const more = mismatches.length > shown.length ? `\n  ... and ${mismatches.length - shown.length} more` : '';
        console.log(`mismatches:\n  ${shown.join('\n  ')}${more}`);
      }
      expect(mismatches).toEqual([]);
    });
  }
});
