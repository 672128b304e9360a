// Finding a WebGPU adapter through Dawn (the `webgpu` npm package) and opening a device with the
// limits and features the kernels need.
import { create, globals } from 'webgpu';
import { BackendUnavailableError } from '../../errors.ts';
import { formatBytes } from '../gpu/format.ts';
import { quietNative } from '../native-stderr.ts';

let gpu: GPU | undefined;

function getGpu(): GPU {
  if (!gpu) {
    // Dawn's Vulkan loader wants a runtime dir; lavapipe and headless servers often lack one.
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    Object.assign(globalThis, globals);
    gpu = create([]);
  }
  return gpu;
}

/** What every kernel needs at the least; checked against the adapter with a clear message. */
export const REQUIRED_LIMITS = {
  maxStorageBuffersPerShaderStage: 6,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16 * 1024, // attention_prefill (WebGPU guarantees 16 KiB)
  maxUniformBufferBindingSize: 256,
} as const;

export interface OpenedDevice {
  readonly device: GPUDevice;
  readonly description: string;
  readonly subgroups: boolean;
  /** A CPU implementation (lavapipe, SwiftShader): per-workgroup work costs more than dispatches. */
  readonly software: boolean;
  readonly limits: GPUSupportedLimits;
}

export interface DeviceOptions {
  /** Use subgroup reductions when the adapter has them (default true). */
  readonly subgroups?: boolean;
  readonly powerPreference?: GPUPowerPreference;
}

export async function requestAdapter(powerPreference: GPUPowerPreference = 'high-performance'): Promise<GPUAdapter | null> {
  try {
    // Dawn and the Vulkan loader print their own warnings here (shown only under --verbose).
    return await quietNative(() => getGpu().requestAdapter({ powerPreference }));
  } catch {
    return null;
  }
}

export async function openDevice(opts: DeviceOptions = {}): Promise<OpenedDevice> {
  const adapter = await requestAdapter(opts.powerPreference);
  if (!adapter) {
    throw new BackendUnavailableError(
      'no WebGPU adapter found (Dawn found no Vulkan/Metal/D3D12 device): install a GPU driver or Mesa lavapipe, or use --backend cpu',
    );
  }
  const al = adapter.limits;
  const short = Object.entries(REQUIRED_LIMITS).filter(([k, v]) => (al[k as keyof GPUSupportedLimits] as number) < v);
  if (short.length > 0) {
    throw new BackendUnavailableError(
      `the WebGPU adapter is too limited for rocforge: ${short.map(([k, v]) => `${k} is ${al[k as keyof GPUSupportedLimits] as number}, need ${v}`).join('; ')}. Use another GPU or --backend cpu`,
    );
  }
  const subgroups = (opts.subgroups ?? true) && adapter.features.has('subgroups');
  const requiredFeatures: GPUFeatureName[] = subgroups ? ['subgroups' as GPUFeatureName] : [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  // Ask for everything the adapter offers on the axes that bound model size.
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
    maxBufferSize: al.maxBufferSize,
    maxStorageBuffersPerShaderStage: Math.min(al.maxStorageBuffersPerShaderStage, 10),
    maxComputeWorkgroupStorageSize: al.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: Math.max(256, Math.min(al.maxComputeInvocationsPerWorkgroup, 1024)),
    maxComputeWorkgroupSizeX: Math.max(256, Math.min(al.maxComputeWorkgroupSizeX, 1024)),
  };
  let device: GPUDevice;
  try {
    device = await quietNative(() => adapter.requestDevice({ requiredFeatures, requiredLimits }));
  } catch (e) {
    throw new BackendUnavailableError(`the WebGPU adapter refused a device with limits ${JSON.stringify(requiredLimits)}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const info = adapter.info;
  const what = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0).join(' ');
  const description = `WebGPU (Dawn) ${what || 'adapter'}${subgroups ? ', subgroups' : ''}, max binding ${formatBytes(device.limits.maxStorageBufferBindingSize)}`;
  const software = /llvmpipe|lavapipe|swiftshader|software/i.test(what);
  return { device, description, subgroups, software, limits: device.limits };
}

export async function webgpuAvailable(): Promise<boolean> {
  return (await requestAdapter()) !== null;
}
