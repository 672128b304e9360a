// Runs everywhere (no GPU, no toolchain): shaders/ and native-hip/kernels/ must mirror each other
// file for file, with the same Params fields in the same order, and every kernel the planner
// dispatches (src/backends/gpu/kernels.ts) must exist on both sides.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNELS } from '../../src/backends/gpu/kernels.ts';
import { packagePath } from '../../src/package-root.ts';
import { checkTwins, hipParams, twinOf, wgslParams } from './twins.ts';

const SHADERS = packagePath('shaders');
const HIP = packagePath('native-hip', 'kernels');

describe('WGSL and HIP twins', () => {
  it('every shaders/**/*.wgsl has its native-hip twin and back, with equal Params', () => {
    expect(checkTwins(SHADERS, HIP)).toEqual([]);
  });

  it('every kernel the GPU planner dispatches has a WGSL file and a HIP file', () => {
    const missing = Object.values(KERNELS).flatMap((spec) => [
      ...(existsSync(join(SHADERS, spec.file)) ? [] : [`shaders/${spec.file}`]),
      ...(existsSync(join(HIP, twinOf(spec.file))) ? [] : [`native-hip/kernels/${twinOf(spec.file)}`]),
    ]);
    expect(missing).toEqual([]);
  });
});

describe('the twin checker fails when the sides disagree', () => {
  const root = mkdtempSync(join(tmpdir(), 'rocforge-twins-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;

  function fixture(files: Record<string, string>): { shaders: string; hip: string } {
    const dir = join(root, String(n++));
    for (const [rel, text] of Object.entries(files)) {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
    }
    mkdirSync(join(dir, 'shaders'), { recursive: true });
    mkdirSync(join(dir, 'kernels'), { recursive: true });
    return { shaders: join(dir, 'shaders'), hip: join(dir, 'kernels') };
  }

  const WGSL = `struct Params {\n  rows: u32,\n  // why\n  scale: f32,\n}\n@group(0) @binding(0) var<uniform> P: Params;\n@group(0) @binding(1) var<storage, read> X: array<f32>;\n@group(0) @binding(2) var<storage, read_write> O: array<f32>;\n`;
  const HIPSRC = `struct Params {\n  u32 rows; // why\n  f32 scale;\n};\nextern "C" int rf_k_op(const rf_launch* l) { return use(rf_buf(l, 0), rf_buf(l, 1)); }\n`;

  it('accepts a matching pair', () => {
    const f = fixture({ 'shaders/op.wgsl': WGSL, 'kernels/op.hip': HIPSRC, 'shaders/common/h.wgsl': '', 'kernels/common/h.h': '' });
    expect(checkTwins(f.shaders, f.hip)).toEqual([]);
  });

  it('reports a kernel or a helper without its twin, in either direction', () => {
    const f = fixture({ 'shaders/op.wgsl': WGSL, 'shaders/common/h.wgsl': '', 'kernels/extra.hip': HIPSRC, 'kernels/dequant/q.h': '' });
    expect(checkTwins(f.shaders, f.hip)).toEqual([
      'shaders/common/h.wgsl has no HIP twin native-hip/kernels/common/h.h',
      'shaders/op.wgsl has no HIP twin native-hip/kernels/op.hip',
      'native-hip/kernels/dequant/q.h has no WGSL twin shaders/dequant/q.wgsl',
      'native-hip/kernels/extra.hip has no WGSL twin shaders/extra.wgsl',
    ]);
  });

  it('reports Params that differ in order, name or type, a missing entry point and an undeclared binding', () => {
    const swapped = HIPSRC.replace('u32 rows; // why\n  f32 scale;', 'f32 scale;\n  u32 rows;');
    const f1 = fixture({ 'shaders/op.wgsl': WGSL, 'kernels/op.hip': swapped });
    expect(checkTwins(f1.shaders, f1.hip)).toEqual(['Params of op differ: WGSL { rows: u32, scale: f32 } vs HIP { scale: f32, rows: u32 }']);
    const f2 = fixture({ 'shaders/op.wgsl': WGSL, 'kernels/op.hip': HIPSRC.replace('rf_k_op', 'rf_k_other').replace('rf_buf(l, 1)', 'rf_buf(l, 2)') });
    expect(checkTwins(f2.shaders, f2.hip)).toEqual([
      'native-hip/kernels/op.hip does not export extern "C" int rf_k_op(const rf_launch*)',
      'native-hip/kernels/op.hip binds buffer 2 but shaders/op.wgsl declares 2 storage bindings',
    ]);
    const f3 = fixture({ 'shaders/op.wgsl': WGSL, 'kernels/op.hip': HIPSRC.replace(/struct Params \{[^}]*\};/, '') });
    expect(checkTwins(f3.shaders, f3.hip)).toEqual(['native-hip/kernels/op.hip has no struct Params (shaders/op.wgsl has 2 fields)']);
  });

  it('parses both struct syntaxes field by field', () => {
    expect(wgslParams('struct Params { a: u32, b: f32 }')).toEqual([
      { name: 'a', type: 'u32' },
      { name: 'b', type: 'f32' },
    ]);
    expect(hipParams('struct Params { u32 a, b; f32 c; };')).toEqual([
      { name: 'a', type: 'u32' },
      { name: 'b', type: 'u32' },
      { name: 'c', type: 'f32' },
    ]);
    expect(wgslParams('fn main() {}')).toBeUndefined();
  });
});
