// Which model a command runs: -m, then ROCFORGE_MODEL, then the small real model shipped in the package.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { DEFAULT_MODEL_NOTICE, DEFAULT_MODEL_PATH, resolveModel } from '../../src/server/model-source.ts';

describe('resolveModel', () => {
  it('prefers -m, then ROCFORGE_MODEL', () => {
    expect(resolveModel('a.gguf', { ROCFORGE_MODEL: 'b.gguf' })).toEqual({ path: 'a.gguf', demo: false, from: '-m' });
    expect(resolveModel(undefined, { ROCFORGE_MODEL: 'b.gguf' })).toEqual({ path: 'b.gguf', demo: false, from: 'ROCFORGE_MODEL' });
    expect(resolveModel('', { ROCFORGE_MODEL: 'b.gguf' })).toEqual({ path: 'b.gguf', demo: false, from: 'ROCFORGE_MODEL' });
  });

  it('falls back to the shipped stories260K model, flagged as the demo', () => {
    expect(resolveModel(undefined, {})).toEqual({ path: DEFAULT_MODEL_PATH, demo: true, from: 'built-in default' });
    expect(DEFAULT_MODEL_NOTICE).toContain('-m model.gguf');
  });

  it('says what to do when the shipped model is missing', () => {
    expect(() => resolveModel(undefined, {}, '/nonexistent/stories260K.gguf')).toThrow(ModelNotFoundError);
    expect(() => resolveModel(undefined, {}, '/nonexistent/stories260K.gguf')).toThrow(/pass -m model\.gguf or set ROCFORGE_MODEL/);
  });

  it('ships the real stories260K file (the one llama.cpp converted), not a synthetic one', async () => {
    const bytes = readFileSync(DEFAULT_MODEL_PATH);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe('270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d');
    const f = await GgufFile.open(DEFAULT_MODEL_PATH);
    try {
      expect(f.metadata.get('general.architecture')).toBe('llama');
      expect(f.metadata.get('llama.block_count')).toBe(5);
    } finally {
      await f.close();
    }
  });
});
