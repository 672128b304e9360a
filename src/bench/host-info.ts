// The machine a benchmark ran on, in words: CPU model and the GPU kernel driver's version as the
// operating system reports it (the backends' device strings name the device, not the driver).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';

export interface HostInfo {
  readonly hostname: string;
  readonly cpu: string;
  /** "NVIDIA driver 580.65.06", "amdgpu 6.8.5", or "" where none is found. */
  readonly driver: string;
  readonly node: string;
}

function readFirstLine(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

/** nvidia-smi's driver version, for containers that hide /proc/driver/nvidia; null without it. */
function nvidiaSmiDriver(): string | null {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim() || null;
  } catch {
    return null;
  }
}

/** The GPU driver's version from /proc and /sys (Linux), else nvidia-smi; "" without a GPU driver. */
export function gpuDriver(read: (path: string) => string | null = readFirstLine, smi: () => string | null = nvidiaSmiDriver): string {
  const nv = read('/proc/driver/nvidia/version');
  const m = nv?.match(/Kernel Module(?: for [\w-]+)?\s+([\d.]+)/);
  if (m) return `NVIDIA driver ${m[1]}`;
  const amd = read('/sys/module/amdgpu/version');
  if (amd) return `amdgpu ${amd}`;
  if (read('/sys/module/amdgpu/initstate') === 'live') return 'amdgpu (in-kernel)';
  const v = smi();
  return v ? `NVIDIA driver ${v}` : '';
}

export function hostInfo(): HostInfo {
  return { hostname: hostname(), cpu: cpus()[0]?.model.trim() ?? '', driver: gpuDriver(), node: process.version };
}
