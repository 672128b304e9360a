// Compute pipelines (one per kernel, weight type and variant, composed from shaders/ on first use)
// and bind groups (cached by kernel, uniform slot and buffers, dropped with any of their buffers),
// so that recording a dispatch on the hot path creates no GPU objects.
//
// A bind group names its dispatch's uniform slot (a fixed range, no dynamic offset): in Dawn's
// bindings setBindGroup with a dynamic offset costs about twice as much host time as without.
// Slots are handed out in dispatch order (uniform-arena.ts), so every decode step of one batch
// shape binds the same groups in the same order; a memo per slot (what it held last time) finds
// them, and their pipelines, without building a key.
import { typeName, type GgmlType } from '../../gguf/types.ts';
import type { Dispatch } from '../gpu/executor.ts';
import type { KernelSpec } from '../gpu/kernels.ts';
import { composeShader } from './shader-composer.ts';
import { SLOT_BYTES, UniformArena, type UniformChunk } from './uniform-arena.ts';

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

/** Cached bind groups past which the cache starts over (a bound on memory with many batch shapes). */
const MAX_BIND_GROUPS = 16384;

/** What a dispatch in a uniform slot runs: its pipeline and bind group. */
export interface SlotBinding {
  readonly spec: KernelSpec;
  readonly dequant: GgmlType | undefined;
  readonly variant: number;
  /** The buffers' ids, bindings 1..n. */
  readonly ids: readonly number[];
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
}

export class PipelineCache {
  private readonly layouts = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  private readonly pipelines = new Map<KernelSpec, Map<number, GPUComputePipeline>>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bindGroupKeysByBuffer = new Map<number, string[]>();
  /** Ids of the buffers ever bound and not yet freed (see everBound). */
  private readonly bound = new Set<number>();
  /** Per uniform slot, what the last dispatch in it ran (decode steps repeat it). */
  private slotMemo: (SlotBinding | undefined)[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly opts: PipelineOptions,
  ) {}

  /** The pipeline of `spec` for weight type `type` with variant override `variant` (0: none). */
  pipeline(spec: KernelSpec, type: GgmlType | undefined, variant: number): GPUComputePipeline {
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

  /** Pipeline and bind group of dispatch `d` with its params in uniform slot `slot` (of `chunk`). */
  binding(slot: number, chunk: UniformChunk, d: Dispatch): SlotBinding {
    const memo = this.slotMemo[slot];
    const bufs = d.buffers as readonly WgpuBuffer[];
    if (memo !== undefined && memo.spec === d.kernel && memo.dequant === d.dequant && memo.variant === d.variant && memo.ids.length === bufs.length) {
      let same = true;
      for (let i = 0; i < bufs.length; i++) {
        if (memo.ids[i] !== bufs[i]!.id) {
          same = false;
          break;
        }
      }
      if (same) return memo;
    }
    const b: SlotBinding = {
      spec: d.kernel,
      dequant: d.dequant,
      variant: d.variant,
      ids: bufs.map((x) => x.id),
      pipeline: this.pipeline(d.kernel, d.dequant, d.variant),
      bindGroup: this.bindGroup(d.kernel, slot, chunk, bufs),
    };
    this.slotMemo[slot] = b;
    return b;
  }

  private bindGroup(spec: KernelSpec, slot: number, chunk: UniformChunk, bufs: readonly WgpuBuffer[]): GPUBindGroup {
    let key = `${spec.name}|${slot}`;
    for (const b of bufs) key += ',' + b.id;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.dropBindGroups();
      bg = this.device.createBindGroup({
        label: key,
        layout: this.layoutFor(spec).bgl,
        entries: [
          { binding: 0, resource: { buffer: chunk.buffer, offset: UniformArena.byteOffset(slot), size: SLOT_BYTES } },
          ...bufs.map((b, i) => ({ binding: i + 1, resource: { buffer: b.buffer } })),
        ],
      });
      this.bindGroups.set(key, bg);
      for (const b of bufs) {
        this.bound.add(b.id);
        const keys = this.bindGroupKeysByBuffer.get(b.id);
        if (keys) keys.push(key);
        else this.bindGroupKeysByBuffer.set(b.id, [key]);
      }
    }
    return bg;
  }

  /** Whether the buffer was ever bound (if not, no recorded dispatch can use it). */
  everBound(b: WgpuBuffer): boolean {
    return this.bound.has(b.id);
  }

  /** The buffer is going away: its bind groups too. */
  forget(b: WgpuBuffer): void {
    this.bound.delete(b.id);
    const keys = this.bindGroupKeysByBuffer.get(b.id);
    if (keys) {
      for (const k of keys) this.bindGroups.delete(k);
      this.bindGroupKeysByBuffer.delete(b.id);
      // Buffers are freed rarely (scratch of a batch shape): forgetting every memo is simplest.
      this.slotMemo = [];
    }
  }

  clear(): void {
    this.dropBindGroups();
    this.bound.clear();
  }

  /** Drops every cached bind group (commands already recorded keep theirs alive). */
  private dropBindGroups(): void {
    this.bindGroups.clear();
    this.bindGroupKeysByBuffer.clear();
    this.slotMemo = [];
  }

  private layoutFor(spec: KernelSpec): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout } {
    let l = this.layouts.get(spec.name);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', minBindingSize: SLOT_BYTES } },
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
