// rocforge tokenize, run in-process through its command module.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run, showPiece } from '../../src/cli/commands/tokenize.ts';
import { InvalidRequestError } from '../../src/errors.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const skip = missingShared('models', 'stories260K.gguf') ?? missingShared('vocab', 'ggml-vocab-starcoder.gguf');

describe.skipIf(skip !== undefined)('rocforge tokenize', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  });
  afterEach(() => vi.restoreAllMocks());
  const stories = sharedPath('models', 'stories260K.gguf');

  it('prints id -> piece lines, BOS first (as the oracle prompt_tokens of "Once upon a time")', async () => {
    expect(await run(['-m', stories, 'Once upon a time'])).toBe(0);
    expect(lines).toEqual(["     1 -> '<s>'", "   403 -> ' Once'", "   407 -> ' upon'", "   261 -> ' a'", "   378 -> ' time'"]);
  });

  it('--no-bos --ids prints the ids alone', async () => {
    expect(await run(['-m', stories, '--no-bos', '--ids', 'Once upon a time'])).toBe(0);
    expect(lines).toEqual(['[403,407,261,378]']);
  });

  it('--json prints ids and pieces; --parse-special turns control text into its token (vocab-only file)', async () => {
    const starcoder = sharedPath('vocab', 'ggml-vocab-starcoder.gguf');
    await run(['-m', starcoder, '--json', '--parse-special', '<fim_prefix>def f']);
    expect(JSON.parse(lines[0]!)).toEqual({ ids: [1, 610, 315], pieces: ['<fim_prefix>', 'def', ' f'] });
    await run(['-m', starcoder, '--ids', '<fim_prefix>def f']);
    expect(JSON.parse(lines[1]!)).not.toContain(1);
  });

  it('shows a piece that holds part of a character with byte escapes', () => {
    expect(showPiece(Uint8Array.of(0x20, 0xf0, 0x9f))).toBe(' <0xF0><0x9F>');
    expect(showPiece(new TextEncoder().encode('é'))).toBe('é');
  });

  it('--help prints usage; missing arguments are InvalidRequestError', async () => {
    expect(await run(['--help'])).toBe(0);
    expect(lines[0]).toMatch(/^usage: rocforge tokenize/);
    await expect(run(['hello'])).rejects.toThrow(InvalidRequestError);
    await expect(run(['-m', stories])).rejects.toThrow(/missing TEXT/);
  });
});
