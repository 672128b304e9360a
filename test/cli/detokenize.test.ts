// rocforge detokenize, run in-process through its command module.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseIds, run } from '../../src/cli/commands/detokenize.ts';
import { InvalidRequestError } from '../../src/errors.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const skip = missingShared('models', 'stories260K.gguf') ?? missingShared('vocab', 'ggml-vocab-gpt-2.gguf');

describe('parseIds', () => {
  it('accepts separate arguments, comma/space lists and JSON arrays', () => {
    expect(parseIds(['1', '2'])).toEqual([1, 2]);
    expect(parseIds(['1,2 3'])).toEqual([1, 2, 3]);
    expect(parseIds(['[1, 15043]'])).toEqual([1, 15043]);
    expect(() => parseIds(['-1'])).toThrow(InvalidRequestError);
    expect(() => parseIds(['abc'])).toThrow(/'abc' is not a token id/);
  });
});

describe.skipIf(skip !== undefined)('rocforge detokenize', () => {
  let out: string;
  beforeEach(() => {
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  const stories = sharedPath('models', 'stories260K.gguf');

  it('prints the text, dropping the SPM prefix space unless asked to keep it', async () => {
    expect(await run(['-m', stories, '403', '407', '261', '378'])).toBe(0);
    expect(out).toBe('Once upon a time\n');
    out = '';
    await run(['-m', stories, '--keep-space-prefix', '403,407,261,378']);
    expect(out).toBe(' Once upon a time\n');
  });

  it('renders control tokens unless --skip-special', async () => {
    await run(['-m', stories, '[1, 403, 2]']);
    expect(out).toBe('<s>Once</s>\n');
    out = '';
    await run(['-m', stories, '--skip-special', '[1, 403, 2]']);
    expect(out).toBe('Once\n');
  });

  it('works on a vocab-only BPE file and joins byte tokens into characters', async () => {
    await run(['-m', sharedPath('vocab', 'ggml-vocab-gpt-2.gguf'), '15496', '995', '30325', '222']);
    expect(out).toBe('Hello world 😀\n');
  });

  it('rejects ids outside the vocabulary and missing ids', async () => {
    await expect(run(['-m', stories, '512'])).rejects.toThrow(/outside the vocabulary \(0\.\.511\)/);
    await expect(run(['-m', stories])).rejects.toThrow(InvalidRequestError);
  });
});
