// A stand-in for librocforge_hip in tests that run without a GPU: buffers are host arrays, command
// lists are decoded (independently of command-list.ts, from the format in rocforge_hip.h) and run
// at once: writes and memsets for real, launches logged (name, grid, params, buffers) and, for the
// kernel 'add', computed, so that results flow through reads. Failures can be injected.
import { RF, type HipApi, type NativeGraph, type NativeStream } from '../../../src/backends/hip/native.ts';

export interface LoggedLaunch {
  readonly kernel: string;
  readonly groups: [number, number, number];
  readonly wg: number;
  readonly dequant: number;
  readonly variant: number;
  readonly reduce: number;
  readonly params: number[];
  readonly buffers: number[];
}

interface FakeGraph {
  cmds: Uint32Array;
  ndata: number;
}

export class FakeHip implements HipApi {
  readonly path = '/fake/librocforge_hip.so';
  readonly buildInfo = 'fake';
  readonly buffers = new Map<number, Uint8Array>();
  readonly launches: LoggedLaunch[] = [];
  readonly calls: string[] = [];
  readonly freed: number[] = [];
  /** Bytes the fake device has; allocations past it fail with RF_ERR_OOM. */
  memory = 1 << 24;
  /** Kernel whose launches fail with RF_ERR_LAUNCH (as an invalid configuration would). */
  failKernel: string | undefined;
  /** The next wait fails as a fault while running would (RF_ERR_DEVICE). */
  faultNextWait = false;
  private next = 1;
  private error = 'no error';
  private readonly reads = new Map<number, Uint8Array>();
  private nextTicket = 1;
  private readonly graphs = new Map<number, FakeGraph>();
  private nextGraph = 1;

  constructor(readonly kernelNames: readonly string[]) {}

  get used(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.length;
    return n;
  }

  lastError(): string {
    return this.error;
  }

  streamSync(): number {
    this.calls.push('sync');
    return RF.OK;
  }

  streamSyncAsync(): Promise<number> {
    this.calls.push('syncAsync');
    return Promise.resolve(this.waitResult());
  }

  streamDestroy(): number {
    this.calls.push('streamDestroy');
    return RF.OK;
  }

  setDebugSync(): number {
    return RF.OK;
  }

  setProfile(): number {
    return RF.OK;
  }

  alloc(bytes: number): { rc: number; handle: number } {
    if (this.used + bytes > this.memory) {
      this.error = `out of memory allocating ${bytes} bytes on the GPU`;
      return { rc: RF.ERR_OOM, handle: 0 };
    }
    const handle = this.next++;
    // Garbage, as device memory is: the executor must zero what it needs zeroed.
    this.buffers.set(handle, new Uint8Array(bytes).fill(0xcd));
    return { rc: RF.OK, handle };
  }

  free(handle: number): number {
    this.freed.push(handle);
    return this.buffers.delete(handle) ? RF.OK : this.fail(RF.ERR_INVALID, `rf_free: unknown buffer handle ${handle}`);
  }

  upload(_s: NativeStream, handle: number, offset: number, src: Uint8Array): number {
    this.calls.push('upload');
    this.buf(handle).set(src, offset);
    return RF.OK;
  }

  memset(_s: NativeStream, handle: number, offset: number, value: number, bytes: number): number {
    this.buf(handle).fill(value, offset, offset + bytes);
    return RF.OK;
  }

  readBegin(_s: NativeStream, handle: number, offset: number, bytes: number): { rc: number; ticket: number } {
    const ticket = this.nextTicket++;
    this.reads.set(ticket, this.buf(handle).slice(offset, offset + bytes));
    return { rc: RF.OK, ticket };
  }

  readWaitAsync(): Promise<number> {
    return Promise.resolve(this.waitResult());
  }

  readTake(ticket: number, dst: Uint8Array | null): number {
    const data = this.reads.get(ticket);
    this.reads.delete(ticket);
    if (!data) return this.fail(RF.ERR_INVALID, `unknown ticket ${ticket}`);
    if (dst) dst.set(data.subarray(0, dst.length));
    return RF.OK;
  }

  submit(_s: NativeStream, cmds: Uint32Array, data: Uint32Array): number {
    this.calls.push('submit');
    return this.run(cmds, data);
  }

  graphCapture(_s: NativeStream, cmds: Uint32Array, data: Uint32Array): { rc: number; graph: NativeGraph | null } {
    this.calls.push('capture');
    const id = this.nextGraph++;
    this.graphs.set(id, { cmds: cmds.slice(), ndata: data.length });
    // Capturing runs nothing; the graph's first launch does the work.
    const rc = this.run(cmds, data);
    return { rc, graph: rc === RF.OK ? (id as unknown as NativeGraph) : null };
  }

  graphUpdate(g: NativeGraph, _s: NativeStream, cmds: Uint32Array, data: Uint32Array): number {
    this.calls.push('update');
    const graph = this.graphs.get(g as unknown as number);
    if (!graph) return this.fail(RF.ERR_INVALID, 'unknown graph');
    graph.cmds = cmds.slice();
    graph.ndata = data.length;
    return this.run(cmds, data);
  }

  graphLaunch(g: NativeGraph, _s: NativeStream, data: Uint32Array): number {
    this.calls.push('replay');
    const graph = this.graphs.get(g as unknown as number);
    if (!graph) return this.fail(RF.ERR_INVALID, 'unknown graph');
    if (data.length !== graph.ndata) return this.fail(RF.ERR_INVALID, `${data.length} data words given, the graph was captured with ${graph.ndata}`);
    return this.run(graph.cmds, data);
  }

  graphDestroy(g: NativeGraph): number {
    this.calls.push('graphDestroy');
    this.graphs.delete(g as unknown as number);
    return RF.OK;
  }

  get liveGraphs(): number {
    return this.graphs.size;
  }

  profileTake(): { rc: number; pairs: Array<[number, number]> } {
    return { rc: RF.OK, pairs: [] };
  }

  private waitResult(): number {
    if (!this.faultNextWait) return RF.OK;
    this.faultNextWait = false;
    return this.fail(RF.ERR_DEVICE, 'a kernel failed while running: an illegal memory access was encountered');
  }

  private buf(handle: number): Uint8Array {
    const b = this.buffers.get(handle);
    if (!b) throw new Error(`fake HIP: buffer ${handle} is not allocated`);
    return b;
  }

  private fail(rc: number, message: string): number {
    this.error = message;
    return rc;
  }

  private run(cmds: Uint32Array, data: Uint32Array): number {
    const dataBytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    for (let at = 0; at < cmds.length; ) {
      const op = cmds[at]! & 0xff;
      const len = cmds[at]! >>> 8;
      const w = cmds.subarray(at, at + len);
      if (op === 1) {
        const np = w[9]!;
        const nb = w[10]!;
        const kernel = this.kernelNames[w[1]!]!;
        const launch: LoggedLaunch = {
          kernel,
          groups: [w[2]!, w[3]!, w[4]!],
          wg: w[5]!,
          dequant: w[6]!,
          variant: w[7]!,
          reduce: w[8]!,
          params: Array.from(w.subarray(11, 11 + np)),
          buffers: Array.from(w.subarray(11 + np, 11 + np + nb)),
        };
        if (kernel === this.failKernel) return this.fail(RF.ERR_LAUNCH, `kernel ${kernel} failed to launch (record at word ${at}): invalid argument`);
        this.launches.push(launch);
        if (kernel === 'add') this.add(launch);
      } else if (op === 2) {
        const offset = w[2]! + w[3]! * 2 ** 32;
        this.buf(w[1]!).set(dataBytes.subarray(w[5]! * 4, w[5]! * 4 + w[4]!), offset);
      } else if (op === 3) {
        const offset = w[2]! + w[3]! * 2 ** 32;
        this.buf(w[1]!).fill(w[5]!, offset, offset + w[4]!);
      } else {
        return this.fail(RF.ERR_INVALID, `unknown op ${op} at word ${at}`);
      }
      at += len;
    }
    return RF.OK;
  }

  /** add.wgsl: out[i] = a[i] + b[i] for i < n, an input flagged *_from_out read through out. */
  private add(l: LoggedLaunch): void {
    const [n, aFromOut, bFromOut] = l.params;
    const [a, b, o] = l.buffers.map((h) => new Float32Array(this.buf(h).buffer));
    const x = aFromOut ? o! : a!;
    const y = bFromOut ? o! : b!;
    for (let i = 0; i < n!; i++) o![i] = Math.fround(x[i]! + y[i]!);
  }
}
