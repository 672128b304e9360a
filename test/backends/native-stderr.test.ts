// Native libraries' own stderr lines (Dawn's "artificially reduced" warnings, the Vulkan loader's
// "Couldn't load Vulkan") stay out of the user's console unless they ask for them (--verbose).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** Runs a script that writes to fd 2 from native code (libc write) inside and outside quietNative. */
function runScript(env: Record<string, string>): { stderr: string; stdout: string; status: number | null } {
  const script = `
    import koffi from 'koffi';
    import { quietNative } from ${JSON.stringify(join(ROOT, 'src/backends/native-stderr.ts'))};
    const write = koffi.load('libc.so.6').func('long write(int, const char *, size_t)');
    const say = (s) => write(2, s, Buffer.byteLength(s));
    say('before\\n');
    const v = await quietNative(async () => { say('Warning: native noise\\n'); await new Promise((r) => setTimeout(r, 10)); say('more noise\\n'); return 42; });
    say('after\\n');
    console.log('result', v);
    await quietNative(async () => { throw new Error('inner failure'); }).catch((e) => console.error('caught:', e.message));
  `;
  const r = spawnSync(process.execPath, [TSX, '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: ROOT });
  return { stderr: r.stderr, stdout: r.stdout, status: r.status };
}

describe.skipIf(process.platform !== 'linux')('quietNative', () => {
  it('drops what native code writes to stderr inside it, keeps everything outside, and passes results and errors through', () => {
    const r = runScript({ ROCFORGE_VERBOSE: '' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('result 42');
    expect(r.stderr).toContain('before');
    expect(r.stderr).toContain('after');
    expect(r.stderr).toContain('caught: inner failure');
    expect(r.stderr).not.toContain('native noise');
    expect(r.stderr).not.toContain('more noise');
  });

  it('shows native messages when verbose', () => {
    const r = runScript({ ROCFORGE_VERBOSE: '1' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('Warning: native noise');
    expect(r.stderr).toContain('more noise');
  });
});
