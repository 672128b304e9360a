// Native libraries (Dawn, the Vulkan loader, GPU drivers) write their own warnings straight to file
// descriptor 2, e.g. Dawn's "Warning: maxDynamicUniformBuffersPerPipelineLayout artificially
// reduced..." on every start, or "Couldn't load Vulkan: libvulkan.so.1..." before a fallback to the
// CPU. Users should see only rocforge's lines, so while native code initializes, fd 2 points at a
// temporary file whose text is then dropped; under --verbose nothing is captured.
// (Node's own console writes go through the same fd, so only short native calls are wrapped.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let verbose = process.env.ROCFORGE_VERBOSE === '1';

/** Shows native libraries' messages (the CLI's --verbose). */
export function showNativeMessages(on: boolean): void {
  verbose = on;
}

export function nativeMessagesShown(): boolean {
  return verbose;
}

interface Libc {
  dup(fd: number): number;
  dup2(from: number, to: number): number;
  close(fd: number): number;
  open(path: string, flags: number, mode: number): number;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== 'linux') return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    libc = {
      dup: lib.func('int dup(int)') as Libc['dup'],
      dup2: lib.func('int dup2(int, int)') as Libc['dup2'],
      close: lib.func('int close(int)') as Libc['close'],
      open: lib.func('int open(const char *, int, int)') as Libc['open'],
    };
  } catch {
    // Without libc through koffi the messages simply stay visible.
  }
  return libc;
}

const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

/** Runs fn with native writes to stderr dropped, unless native messages are shown. */
export async function quietNative<T>(fn: () => Promise<T>): Promise<T> {
  const c = verbose ? null : loadLibc();
  if (!c) return fn();
  const dir = mkdtempSync(join(tmpdir(), 'rocforge-native-'));
  const file = join(dir, 'stderr');
  const saved = c.dup(2);
  const sink = saved >= 0 ? c.open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600) : -1;
  if (sink < 0 || c.dup2(sink, 2) < 0) {
    if (sink >= 0) c.close(sink);
    if (saved >= 0) c.close(saved);
    rmSync(dir, { recursive: true, force: true });
    return fn();
  }
  c.close(sink);
  try {
    return await fn();
  } finally {
    c.dup2(saved, 2);
    c.close(saved);
    const captured = readFileSync(file, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    // Lines that are not native (a Node warning raced into the window) are kept.
    const kept = captured.split('\n').filter((l) => l.length > 0 && /^\(node:\d+\)/.test(l));
    if (kept.length > 0) process.stderr.write(`${kept.join('\n')}\n`);
  }
}
