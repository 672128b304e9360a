// shaders/common/exact.wgsl: the correctly rounded division the exact kernels rely on. Vulkan allows
// 2.5 ulp for a / b, and the H100 gave amax / 127 one ulp low after a single Newton step (a Q8_1
// block sum then rounded to the other f16), so div_fix must reach the correctly rounded quotient from
// any start a few ulps off, whatever the device's own division does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDevice, type OpenedDevice } from '../../../src/backends/webgpu/device.ts';
import { probeFmaFused } from '../../../src/backends/webgpu/fma-probe.ts';
import { SHADER_DIR } from '../../../src/backends/webgpu/shader-composer.ts';
import { gpuPresent } from './gpu.ts';

const skip = !(await gpuPresent());

// Per case: a, b, and the start offset in ulps; out: div_rn(a, b), div_fix(a, b, a / b moved k ulps).
const MAIN = `
@group(0) @binding(0) var<storage, read> IN: array<f32>;
@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  exact_init(nwg);
  let i = gid.x;
  if (i >= arrayLength(&IN) / 3u) { return; }
  let a = IN[3u * i];
  let b = IN[3u * i + 1u];
  let k = i32(IN[3u * i + 2u]);
  OUT[2u * i] = div_rn(a, b);
  OUT[2u * i + 1u] = div_fix(a, b, bitcast<f32>(u32(i32(bitcast<u32>(a / b)) + k)));
}`;

describe.skipIf(skip)('exact.wgsl division', () => {
  let gpu: OpenedDevice;
  let pipeline: GPUComputePipeline;
  beforeAll(async () => {
    gpu = await openDevice();
    const fused = await probeFmaFused(gpu.device);
    const code = readFileSync(join(SHADER_DIR, 'common', 'exact.wgsl'), 'utf8') + MAIN;
    const module = gpu.device.createShaderModule({ code });
    pipeline = gpu.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: { FMA_FUSED: fused ? 1 : 0 } } });
  });
  afterAll(() => gpu?.device.destroy());

  async function run(cases: Float32Array): Promise<Float32Array> {
    const { device } = gpu;
    const n = cases.length / 3;
    const inBuf = device.createBuffer({ size: cases.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const outBuf = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const read = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(inBuf, 0, cases);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    const entries = [inBuf, outBuf].map((buffer, binding) => ({ binding, resource: { buffer } }));
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    enc.copyBufferToBuffer(outBuf, 0, read, 0, n * 8);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    for (const b of [inBuf, outBuf, read]) b.destroy();
    return out;
  }

  const check = async (pairs: Array<[number, number]>, offsets: number[]): Promise<void> => {
    const cases = new Float32Array(pairs.length * offsets.length * 3);
    let c = 0;
    for (const [a, b] of pairs) for (const k of offsets) cases.set([a, b, k], 3 * c++);
    const out = await run(cases);
    for (let i = 0; i < c; i++) {
      const [a, b, k] = [cases[3 * i]!, cases[3 * i + 1]!, cases[3 * i + 2]!];
      const want = Math.fround(a / b); // double rounding is innocuous for division (53 >= 2*24 + 2)
      expect({ a, b, k, divRn: out[2 * i] }).toEqual({ a, b, k, divRn: want });
      expect({ a, b, k, divFix: out[2 * i + 1] }).toEqual({ a, b, k, divFix: want });
    }
  };

  it('rounds the quotients the H100 got wrong (amax / 127 of two Q8_1 blocks)', async () => {
    await check([[2.8398380279541016, 127], [2.12319016456604, 127], [127, 2.8398380279541016]], [-3, -2, -1, 0, 1, 2, 3]);
  });

  // Operands within 1e±15: the software fma of devices without a fused one (Dekker's split) needs
  // |q| * 4097 to stay finite; the kernels divide activations' maxima and sums, far inside this.
  it('is correctly rounded from starts up to 3 ulps off, for random operands within 1e±15', async () => {
    const normal = fc.float({ min: Math.fround(1e-15), max: Math.fround(1e15), noNaN: true, noDefaultInfinity: true });
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`exact.wgsl division: fast-check seed ${seed}`);
    const pairs = fc.sample(fc.tuple(normal, normal, fc.boolean(), fc.boolean()), { seed, numRuns: 2000 })
      .map(([a, b, na, nb]): [number, number] => [na ? -a : a, nb ? -b : b]);
    await check(pairs, [-3, -1, 0, 1, 3]);
  });
});
