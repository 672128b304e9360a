// Whether a device's WGSL fma() is fused. Vulkan lets fma inherit the precision of a multiply
// followed by an add, and lavapipe does round twice; the exact kernels (shaders/common/exact.wgsl)
// then emulate a fused multiply-add in software. The probe: (1 + 2^-12)^2 - 1 is 2^-11 + 2^-24
// when fused and 2^-11 when the product is rounded first.
export async function probeFmaFused(device: GPUDevice): Promise<boolean> {
  const code = `@group(0) @binding(0) var<storage, read_write> B: array<f32>;
@compute @workgroup_size(1) fn main() { B[3] = fma(B[0], B[1], B[2]); }`;
  const module = device.createShaderModule({ label: 'rocforge fma probe', code });
  const pipeline = device.createComputePipeline({ label: 'rocforge fma probe', layout: 'auto', compute: { module, entryPoint: 'main' } });
  const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const a = Math.fround(1 + 2 ** -12);
  device.queue.writeBuffer(buf, 0, Float32Array.of(a, a, -1, 0));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, 16);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange().slice(0))[3]!;
  read.unmap();
  read.destroy();
  buf.destroy();
  return got === 2 ** -11 + 2 ** -24;
}
