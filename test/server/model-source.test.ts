// Which model serve picks: -m, then ROCFORGE_MODEL, then the demo model written once and reused.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgufFile } from '../../src/gguf/reader.ts';
import { cacheDir, DEMO_SHAPE, resolveModel, writeDemoModel } from '../../src/server/model-source.ts';

describe('resolveModel', () => {
  it('prefers -m, then ROCFORGE_MODEL', async () => {
    const never = async (): Promise<void> => {
      throw new Error('the demo model must not be written');
    };
    expect(await resolveModel('a.gguf', { ROCFORGE_MODEL: 'b.gguf' }, never)).toEqual({ path: 'a.gguf', demo: false, from: '-m' });
    expect(await resolveModel(undefined, { ROCFORGE_MODEL: 'b.gguf' }, never)).toEqual({ path: 'b.gguf', demo: false, from: 'ROCFORGE_MODEL' });
  });

  it('uses $XDG_CACHE_HOME/rocforge, else ~/.cache/rocforge', () => {
    expect(cacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/rocforge');
    expect(cacheDir({})).toMatch(/\.cache\/rocforge$/);
  });

  it('writes the demo model once into the cache directory and reuses it', async () => {
    const env = { XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), 'rocforge-cache-')) };
    let writes = 0;
    const first = await resolveModel(undefined, env, async (p, onProgress) => {
      writes++;
      await writeDemoModel(p, onProgress);
    });
    expect(first).toMatchObject({ demo: true, from: 'demo (written now)' });
    expect(first.path.startsWith(join(env.XDG_CACHE_HOME, 'rocforge'))).toBe(true);
    const second = await resolveModel(undefined, env, async () => {
      writes++;
    });
    expect(second).toEqual({ ...first, from: 'demo (cached)' });
    expect(writes).toBe(1);
    // No temporary files left behind; the file is a llama GGUF of the demo shape.
    expect(readdirSync(join(env.XDG_CACHE_HOME, 'rocforge'))).toEqual([first.path.split('/').pop()]);
    const f = await GgufFile.open(first.path);
    try {
      expect(f.metadata.get('general.architecture')).toBe('llama');
      expect(f.metadata.get('llama.embedding_length')).toBe(DEMO_SHAPE.dim);
      expect(f.metadata.get('llama.block_count')).toBe(DEMO_SHAPE.layers);
    } finally {
      await f.close();
    }
  });

  it('leaves no partial file when writing the demo model fails', async () => {
    const env = { XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), 'rocforge-cache-')) };
    await expect(
      resolveModel(undefined, env, async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    const dir = join(env.XDG_CACHE_HOME, 'rocforge');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});
