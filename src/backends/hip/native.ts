// The koffi bindings of native-hip/build/librocforge_hip.so (C ABI: native-hip/include/rocforge_hip.h).
// Loaded once per process; every problem on the way (no koffi binary for this platform, library not
// built, built for another ABI, no GPU, built for another GPU) is a BackendUnavailableError whose one
// line says what to do instead.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BackendUnavailableError } from '../../errors.ts';
import { packagePath } from '../../package-root.ts';

/** The ABI this code speaks (RF_ABI_VERSION in rocforge_hip.h). */
export const ABI_VERSION = 1;

/** rf_status codes. */
export const RF = {
  OK: 0,
  ERR_OOM: 1,
  ERR_INVALID: 2,
  ERR_LAUNCH: 3,
  ERR_DEVICE: 4,
  ERR_NO_DEVICE: 5,
  ERR_NO_KERNEL_IMAGE: 6,
  ERR_NOT_INIT: 7,
} as const;

const ALTERNATIVES = 'use --backend webgpu or --backend cpu';

/** Where the library is looked for: $ROCFORGE_HIP_LIB, else native-hip/build/ of the package. */
export function hipLibraryPath(): string {
  return process.env.ROCFORGE_HIP_LIB ?? packagePath('native-hip', 'build', 'librocforge_hip.so');
}

export interface DeviceInfo {
  readonly name: string;
  readonly arch: string;
  readonly platform: string;
  readonly totalBytes: number;
  readonly freeBytes: number;
  readonly warpSize: number;
  readonly multiprocessors: number;
  readonly deviceIndex: number;
  readonly deviceCount: number;
  readonly runtimeVersion: number;
  readonly driverVersion: number;
}

/** Opaque native pointers (rf_stream*, rf_graph*), never looked into on this side. */
export type NativeStream = { readonly __brand: 'rf_stream' };
export type NativeGraph = { readonly __brand: 'rf_graph' };

// koffi's function objects are untyped; each is wrapped below in a typed method.
type Fn = ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };

interface KoffiModule {
  load(path: string): { func(decl: string): Fn };
  struct(name: string, def: Record<string, string>): unknown;
  opaque(name: string): unknown;
}

/** What the executor uses of the library (an interface, so tests can stand in a fake runtime). */
export interface HipApi {
  readonly path: string;
  readonly buildInfo: string;
  readonly kernelNames: readonly string[];
  lastError(): string;
  streamSync(s: NativeStream): number;
  streamSyncAsync(s: NativeStream): Promise<number>;
  streamDestroy(s: NativeStream): number;
  setDebugSync(s: NativeStream, on: boolean): number;
  setProfile(s: NativeStream, on: boolean): number;
  alloc(bytes: number): { rc: number; handle: number };
  free(handle: number): number;
  upload(s: NativeStream, handle: number, offset: number, src: Uint8Array): number;
  memset(s: NativeStream, handle: number, offset: number, value: number, bytes: number): number;
  readBegin(s: NativeStream, handle: number, offset: number, bytes: number): { rc: number; ticket: number };
  readWaitAsync(ticket: number): Promise<number>;
  readTake(ticket: number, dst: Uint8Array | null): number;
  submit(s: NativeStream, cmds: Uint32Array, data: Uint32Array): number;
  graphCapture(s: NativeStream, cmds: Uint32Array, data: Uint32Array): { rc: number; graph: NativeGraph | null };
  graphUpdate(g: NativeGraph, s: NativeStream, cmds: Uint32Array, data: Uint32Array): number;
  graphLaunch(g: NativeGraph, s: NativeStream, data: Uint32Array): number;
  graphDestroy(g: NativeGraph): number;
  profileTake(s: NativeStream, cap: number): { rc: number; pairs: Array<[number, number]> };
}

/** Typed access to the library's functions. Methods return rf_status codes unless they say otherwise. */
export class HipLibrary implements HipApi {
  readonly buildInfo: string;
  /** Kernel file stems in table order: a command list names a kernel by its index here. */
  readonly kernelNames: readonly string[];
  private readonly f: Record<string, Fn>;
  private readonly errBuf = Buffer.alloc(2048);

  constructor(
    readonly path: string,
    koffi: KoffiModule,
  ) {
    const lib = koffi.load(path);
    koffi.struct('rf_device_info', {
      name: 'char[256]',
      arch: 'char[64]',
      platform: 'char[16]',
      total_bytes: 'uint64_t',
      free_bytes: 'uint64_t',
      warp_size: 'int32_t',
      multiprocessors: 'int32_t',
      device_index: 'int32_t',
      device_count: 'int32_t',
      runtime_version: 'int32_t',
      driver_version: 'int32_t',
    });
    koffi.opaque('rf_stream');
    koffi.opaque('rf_graph');
    const decls = [
      'int rf_abi_version(void)',
      'const char* rf_build_info(void)',
      'uint32_t rf_last_error(_Out_ uint8_t* buf, uint32_t cap)',
      'int rf_init(int32_t device)',
      'int rf_device_info_get(_Out_ rf_device_info* out)',
      'int rf_stream_create(_Out_ rf_stream** out)',
      'int rf_stream_destroy(rf_stream* s)',
      'int rf_stream_sync(rf_stream* s)',
      'int rf_stream_set_debug_sync(rf_stream* s, int32_t on)',
      'int rf_stream_set_profile(rf_stream* s, int32_t on)',
      'int rf_alloc(uint64_t bytes, _Out_ uint32_t* handle)',
      'int rf_free(uint32_t handle)',
      'int rf_upload(rf_stream* s, uint32_t handle, uint64_t offset, const void* src, uint64_t bytes)',
      'int rf_download(rf_stream* s, uint32_t handle, uint64_t offset, void* dst, uint64_t bytes)',
      'int rf_memset(rf_stream* s, uint32_t handle, uint64_t offset, uint32_t value, uint64_t bytes)',
      'int rf_read_begin(rf_stream* s, uint32_t handle, uint64_t offset, uint64_t bytes, _Out_ uint32_t* ticket)',
      'int rf_read_wait(uint32_t ticket)',
      'int rf_read_take(uint32_t ticket, void* dst, uint64_t bytes)',
      'uint32_t rf_kernel_count(void)',
      'const char* rf_kernel_name(uint32_t index)',
      'int rf_submit(rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata)',
      'int rf_graph_capture(rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata, _Out_ rf_graph** out)',
      'int rf_graph_update(rf_graph* g, rf_stream* s, const uint32_t* cmds, uint32_t ncmds, const uint32_t* data, uint32_t ndata)',
      'int rf_graph_launch(rf_graph* g, rf_stream* s, const uint32_t* data, uint32_t ndata)',
      'int rf_graph_destroy(rf_graph* g)',
      'int rf_profile_take(rf_stream* s, _Out_ uint32_t* out, uint32_t cap, _Out_ uint32_t* count)',
    ];
    this.f = {};
    for (const d of decls) {
      const name = /\b(rf_\w+)\(/.exec(d)![1]!;
      this.f[name] = lib.func(d);
    }
    const abi = this.f.rf_abi_version!() as number;
    if (abi !== ABI_VERSION) {
      throw new BackendUnavailableError(
        `the HIP library ${path} speaks ABI v${abi} but this rocforge needs v${ABI_VERSION}: rebuild it (npm run build:hip), or ${ALTERNATIVES}`,
      );
    }
    this.buildInfo = this.f.rf_build_info!() as string;
    const n = this.f.rf_kernel_count!() as number;
    this.kernelNames = Array.from({ length: n }, (_, i) => this.f.rf_kernel_name!(i) as string);
  }

  /** The library's message for the last failed call. */
  lastError(): string {
    const n = this.f.rf_last_error!(this.errBuf, this.errBuf.length) as number;
    return this.errBuf.toString('utf8', 0, Math.min(n, this.errBuf.length - 1));
  }

  init(device: number): number {
    return this.f.rf_init!(device) as number;
  }

  deviceInfo(): DeviceInfo {
    const o: Record<string, unknown> = {};
    const rc = this.f.rf_device_info_get!(o) as number;
    if (rc !== RF.OK) throw new BackendUnavailableError(`reading the HIP device's properties failed: ${this.lastError()}`);
    return {
      name: String(o.name),
      arch: String(o.arch),
      platform: String(o.platform),
      totalBytes: Number(o.total_bytes),
      freeBytes: Number(o.free_bytes),
      warpSize: Number(o.warp_size),
      multiprocessors: Number(o.multiprocessors),
      deviceIndex: Number(o.device_index),
      deviceCount: Number(o.device_count),
      runtimeVersion: Number(o.runtime_version),
      driverVersion: Number(o.driver_version),
    };
  }

  streamCreate(): { rc: number; stream: NativeStream | null } {
    const out: unknown[] = [null];
    const rc = this.f.rf_stream_create!(out) as number;
    return { rc, stream: out[0] as NativeStream | null };
  }

  streamDestroy(s: NativeStream): number {
    return this.f.rf_stream_destroy!(s) as number;
  }

  streamSync(s: NativeStream): number {
    return this.f.rf_stream_sync!(s) as number;
  }

  /** rf_stream_sync on a worker thread, so the event loop keeps running while the GPU works. */
  streamSyncAsync(s: NativeStream): Promise<number> {
    return this.async('rf_stream_sync', s);
  }

  setDebugSync(s: NativeStream, on: boolean): number {
    return this.f.rf_stream_set_debug_sync!(s, on ? 1 : 0) as number;
  }

  setProfile(s: NativeStream, on: boolean): number {
    return this.f.rf_stream_set_profile!(s, on ? 1 : 0) as number;
  }

  alloc(bytes: number): { rc: number; handle: number } {
    const out = [0];
    const rc = this.f.rf_alloc!(bytes, out) as number;
    return { rc, handle: out[0]! };
  }

  free(handle: number): number {
    return this.f.rf_free!(handle) as number;
  }

  upload(s: NativeStream, handle: number, offset: number, src: Uint8Array): number {
    return this.f.rf_upload!(s, handle, offset, src, src.byteLength) as number;
  }

  download(s: NativeStream, handle: number, offset: number, dst: Uint8Array): number {
    return this.f.rf_download!(s, handle, offset, dst, dst.byteLength) as number;
  }

  memset(s: NativeStream, handle: number, offset: number, value: number, bytes: number): number {
    return this.f.rf_memset!(s, handle, offset, value, bytes) as number;
  }

  readBegin(s: NativeStream, handle: number, offset: number, bytes: number): { rc: number; ticket: number } {
    const out = [0];
    const rc = this.f.rf_read_begin!(s, handle, offset, bytes, out) as number;
    return { rc, ticket: out[0]! };
  }

  /** rf_read_wait on a worker thread. */
  readWaitAsync(ticket: number): Promise<number> {
    return this.async('rf_read_wait', ticket);
  }

  readTake(ticket: number, dst: Uint8Array | null): number {
    return this.f.rf_read_take!(ticket, dst, dst?.byteLength ?? 0) as number;
  }

  submit(s: NativeStream, cmds: Uint32Array, data: Uint32Array): number {
    return this.f.rf_submit!(s, cmds, cmds.length, data, data.length) as number;
  }

  graphCapture(s: NativeStream, cmds: Uint32Array, data: Uint32Array): { rc: number; graph: NativeGraph | null } {
    const out: unknown[] = [null];
    const rc = this.f.rf_graph_capture!(s, cmds, cmds.length, data, data.length, out) as number;
    return { rc, graph: out[0] as NativeGraph | null };
  }

  graphUpdate(g: NativeGraph, s: NativeStream, cmds: Uint32Array, data: Uint32Array): number {
    return this.f.rf_graph_update!(g, s, cmds, cmds.length, data, data.length) as number;
  }

  graphLaunch(g: NativeGraph, s: NativeStream, data: Uint32Array): number {
    return this.f.rf_graph_launch!(g, s, data, data.length) as number;
  }

  graphDestroy(g: NativeGraph): number {
    return this.f.rf_graph_destroy!(g) as number;
  }

  /** Per-launch GPU times since the last call: [kernel index, microseconds] pairs in launch order. */
  profileTake(s: NativeStream, cap: number): { rc: number; pairs: Array<[number, number]> } {
    const words = new Uint32Array(cap * 2);
    const count = [0];
    const rc = this.f.rf_profile_take!(s, words, cap, count) as number;
    const f32 = new Float32Array(words.buffer);
    const n = Math.min(count[0]!, cap);
    return { rc, pairs: Array.from({ length: n }, (_, i): [number, number] => [words[2 * i]!, f32[2 * i + 1]!]) };
  }

  private async(name: string, ...args: unknown[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.f[name]!.async(...args, (err: unknown, res: unknown) => (err ? reject(err as Error) : resolve(res as number)));
    });
  }
}

let loaded: HipLibrary | undefined;
let initialised: number | undefined;

/**
 * The library, loaded and initialised on `device` (first call wins: one device per process).
 * Throws BackendUnavailableError with one line saying why and what to use instead.
 */
export function openHipLibrary(device = 0): HipLibrary {
  if (!loaded) {
    const path = hipLibraryPath();
    if (!existsSync(path)) {
      throw new BackendUnavailableError(`the HIP backend's library is not built (no ${path}): run npm run build:hip, or ${ALTERNATIVES}`);
    }
    let koffi: KoffiModule;
    try {
      koffi = createRequire(import.meta.url)('koffi') as KoffiModule;
    } catch (e) {
      throw new BackendUnavailableError(`koffi (the FFI the HIP backend uses) could not be loaded (${(e as Error).message}): ${ALTERNATIVES}`, { cause: e });
    }
    try {
      loaded = new HipLibrary(path, koffi);
    } catch (e) {
      if (e instanceof BackendUnavailableError) throw e;
      const msg = (e as Error).message.split('\n')[0];
      throw new BackendUnavailableError(`the HIP library ${path} could not be loaded (${msg}): rebuild it (npm run build:hip), or ${ALTERNATIVES}`, { cause: e });
    }
  }
  const lib = loaded;
  if (initialised === undefined) {
    const rc = lib.init(device);
    if (rc !== RF.OK) {
      const why = lib.lastError();
      // The native message already says what to rebuild when the build does not fit the GPU.
      throw new BackendUnavailableError(`HIP: ${why}${rc === RF.ERR_NO_KERNEL_IMAGE ? ', or ' : '; '}${ALTERNATIVES}`);
    }
    initialised = device;
  } else if (initialised !== device) {
    throw new BackendUnavailableError(`HIP: device ${device} requested but this process already uses device ${initialised}: one GPU per process`);
  }
  return lib;
}
