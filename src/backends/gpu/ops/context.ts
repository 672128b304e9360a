// What every op planner shares: the executor, the batch layout that picks kernel variants, cached
// activation copies and tables, and the recording of a Dispatch with its grid laid out the one way
// every executor runs it (a workgroup count over x, spilling into y past MAX_GROUPS).
import type { GgmlType } from '../../../gguf/types.ts';
import { ActivationCopies } from '../activation-copies.ts';
import { MAX_GROUPS, type DeviceBuffer, type KernelExecutor, type Param } from '../executor.ts';
import { kernelRuns, type KernelRun } from '../kernel-choice.ts';
import { ATTENTION_SCRATCH_BYTES, type KernelSpec } from '../kernels.ts';
import { geluTable } from '../../cpu/gelu.ts';
import { RopeTables } from '../rope-table.ts';

export interface OpSettings {
  /** Replay llama.cpp's CPU arithmetic bit for bit where a kernel exists for it. */
  readonly exact: boolean;
  /** How the exact quantized matmuls spread their work (GpuBackendOptions.exactKernels). */
  readonly exactKernels: 'serial' | 'parallel';
  /** Round x inside one-row matmuls (matvec_xr) instead of a separate act_round dispatch. */
  readonly fuseDecodeRounding: boolean;
}

export class OpContext {
  /** Bound where a kernel's binding is unused (no bias, an input read through the output). */
  readonly dummy: DeviceBuffer;
  readonly copies: ActivationCopies;
  readonly ropeTables: RopeTables;
  /** Rows per sequence of the current forward pass (describeBatch); undefined when ops are run directly. */
  batchLayout: Int32Array | undefined;
  private attentionScratchBuf: DeviceBuffer | undefined;
  private geluTableBuf: DeviceBuffer | undefined;

  constructor(
    readonly executor: KernelExecutor,
    readonly settings: OpSettings,
  ) {
    this.dummy = executor.alloc(16, 'rocforge dummy', 'scratch').buf;
    this.copies = new ActivationCopies(executor);
    this.ropeTables = new RopeTables(executor);
  }

  /** Runs of rows taking the same llama.cpp kernel (kernel-choice.ts kernelRuns). */
  runs(rows: number): KernelRun[] {
    return kernelRuns(rows, this.batchLayout);
  }

  /** Records `kernel` over `groups` workgroups (nothing for none). */
  record(kernel: KernelSpec, dequant: GgmlType | undefined, params: readonly Param[], buffers: readonly DeviceBuffer[], groups: number, variant = 0): void {
    if (groups <= 0) return;
    const gx = Math.min(groups, MAX_GROUPS);
    const gy = Math.ceil(groups / gx);
    if (gy > MAX_GROUPS) throw new RangeError(`${kernel.name}: ${groups} workgroups is too many for one dispatch`);
    this.record2d(kernel, dequant, params, buffers, gx, gy, variant);
  }

  /** Records `kernel` over gx x gy workgroups. */
  record2d(kernel: KernelSpec, dequant: GgmlType | undefined, params: readonly Param[], buffers: readonly DeviceBuffer[], gx: number, gy: number, variant = 0): void {
    if (!this.copies.empty) {
      for (let i = 0; i < kernel.bindings.length; i++) if (kernel.bindings[i] === 'rw') this.copies.invalidate(buffers[i]!);
    }
    this.executor.dispatch({ kernel, dequant, params, buffers, groups: [gx, gy, 1], variant });
  }

  /** ggml's GELU table (one f32 per f16 bit pattern, the CPU reference's), uploaded on first use. */
  geluTable(): DeviceBuffer {
    if (!this.geluTableBuf) {
      const t = geluTable();
      const { buf } = this.executor.alloc(t.byteLength, 'rocforge gelu table', 'scratch');
      this.executor.write(buf, new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
      this.geluTableBuf = buf;
    }
    return this.geluTableBuf;
  }

  /** The storage scratch of exact attention past ATTENTION_EXACT_MAX_CTX cells, made on first use. */
  attentionScratch(): DeviceBuffer {
    this.attentionScratchBuf ??= this.executor.alloc(ATTENTION_SCRATCH_BYTES, 'rocforge attention scratch', 'scratch').buf;
    return this.attentionScratchBuf;
  }
}
