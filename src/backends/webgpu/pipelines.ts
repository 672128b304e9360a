// Compute pipelines (one per kernel, weight type and variant, composed from shaders/ on first use)
// and bind groups (cached by kernel, uniform chunk and buffers, dropped with any of their buffers),
// so that recording a dispatch on the hot path creates no GPU objects.
import { typeName, type GgmlType } from '../../gguf/types.ts';
import type { KernelSpec } from '../gpu/kernels.ts';
import { composeShader } from './shader-composer.ts';
import { SLOT_BYTES, type UniformSlot } from './uniform-arena.ts';

let nextBufferId = 1;

/** A WebGPU buffer with an identity (bind groups are cached by buffer ids): the executor's DeviceBuffer. */
export class WgpuBuffer {
  readonly id = nextBufferId++;
  constructor(
    readonly buffer: GPUBuffer,
    readonly size: number,
  ) {}
}

export interface PipelineOptions {
  /** Reducing kernels use subgroup operations (else workgroup memory). */
  readonly subgroups: boolean;
  /** Whether WGSL fma() is fused on this device; when not, exact.wgsl emulates it (FMA_FUSED = 0). */
  readonly fmaFused: boolean;
  /** Receives each shader's compile check: null or what went wrong. */
  readonly onCheck: (check: Promise<string | null>) => void;
}

export class PipelineCache {
  private readonly layouts = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  private readonly pipelines = new Map<KernelSpec, Map<number, GPUComputePipeline>>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bindGroupKeysByBuffer = new Map<number, string[]>();

  constructor(
    private readonly device: GPUDevice,
    private readonly opts: PipelineOptions,
  ) {}

  /** The pipeline of `spec` for weight type `type` with variant override `variant` (0: none). */
  pipeline(spec: KernelSpec, type: GgmlType | undefined, variant: number): GPUComputePipeline {
    // Hot path: a numeric key per kernel, no string building.
    let perSpec = this.pipelines.get(spec);
    if (!perSpec) {
      perSpec = new Map();
      this.pipelines.set(spec, perSpec);
    }
    const numKey = (type ?? 255) * 64 + variant;
    let p = perSpec.get(numKey);
    if (p) return p;
    const reduce = spec.reduce ? (this.opts.subgroups ? 'subgroup' : 'shared') : undefined;
    const key = `${spec.name}|${type !== undefined ? typeName(type) : ''}|${reduce ?? ''}${variant ? `|${spec.variant}=${variant}` : ''}`;
    const { pl } = this.layoutFor(spec);
    const code = composeShader({ op: spec.file, dequant: spec.dequant ? type : undefined, reduce, includes: spec.includes });
    const constants: Record<string, number> = {};
    if (spec.wg !== undefined) constants.WG = spec.wg;
    if (variant) constants[spec.variant] = variant;
    if (spec.includes.includes('exact.wgsl')) constants.FMA_FUSED = this.opts.fmaFused ? 1 : 0;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: key, code });
    p = this.device.createComputePipeline({ label: key, layout: pl, compute: { module, entryPoint: 'main', constants } });
    this.opts.onCheck(this.device.popErrorScope().then((e) => (e ? `shader ${key} failed to compile: ${e.message}` : null)));
    perSpec.set(numKey, p);
    return p;
  }

  /** The bind group of `spec` with params in `slot`'s chunk and `bufs` at bindings 1..n. */
  bindGroup(spec: KernelSpec, slot: UniformSlot, bufs: readonly WgpuBuffer[]): GPUBindGroup {
    let key = spec.name + slot.chunk.id;
    for (const b of bufs) key += ',' + b.id;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      bg = this.device.createBindGroup({
        label: key,
        layout: this.layoutFor(spec).bgl,
        entries: [
          { binding: 0, resource: { buffer: slot.chunk.buffer, offset: 0, size: SLOT_BYTES } },
          ...bufs.map((b, i) => ({ binding: i + 1, resource: { buffer: b.buffer } })),
        ],
      });
      this.bindGroups.set(key, bg);
      for (const b of bufs) {
        const keys = this.bindGroupKeysByBuffer.get(b.id);
        if (keys) keys.push(key);
        else this.bindGroupKeysByBuffer.set(b.id, [key]);
      }
    }
    return bg;
  }

  /** Whether the buffer was ever bound (if not, no recorded dispatch can use it). */
  everBound(b: WgpuBuffer): boolean {
    return this.bindGroupKeysByBuffer.has(b.id);
  }

  /** The buffer is going away: its bind groups too. */
  forget(b: WgpuBuffer): void {
    const keys = this.bindGroupKeysByBuffer.get(b.id);
    if (keys) {
      for (const k of keys) this.bindGroups.delete(k);
      this.bindGroupKeysByBuffer.delete(b.id);
    }
  }

  clear(): void {
    this.bindGroups.clear();
    this.bindGroupKeysByBuffer.clear();
  }

  private layoutFor(spec: KernelSpec): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout } {
    let l = this.layouts.get(spec.name);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: SLOT_BYTES } },
        ...spec.bindings.map(
          (b, i): GPUBindGroupLayoutEntry => ({
            binding: i + 1,
            visibility: GPUShaderStage.COMPUTE,
            buffer: { type: b === 'read' ? 'read-only-storage' : 'storage' },
          }),
        ),
      ];
      const bgl = this.device.createBindGroupLayout({ label: spec.name, entries });
      l = { bgl, pl: this.device.createPipelineLayout({ label: spec.name, bindGroupLayouts: [bgl] }) };
      this.layouts.set(spec.name, l);
    }
    return l;
  }
}
