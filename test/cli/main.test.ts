// How `rocforge` reports a failure inside a command: one line on stderr; the stack only under --verbose.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidRequestError, UsageError } from '../../src/errors.ts';

const failure = vi.hoisted(() => ({ error: new Error('unset') as unknown }));
vi.mock('../../src/cli/commands/info.ts', () => ({
  run: async () => {
    throw failure.error;
  },
}));

const { main } = await import('../../src/cli/main.ts');

describe('rocforge <command> when the command throws', () => {
  let err: string[];
  beforeEach(() => {
    err = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  });
  afterEach(() => vi.restoreAllMocks());

  it('an unexpected error is one line with a hint, exit 1', async () => {
    failure.error = new TypeError("Cannot read properties of undefined (reading 'x')\n    more detail");
    expect(await main(['info', 'm.gguf'])).toBe(1);
    expect(err).toEqual(["rocforge info: Cannot read properties of undefined (reading 'x') more detail (run with --verbose for the stack)"]);
  });

  it('with --verbose it prints the stack', async () => {
    failure.error = new TypeError('boom');
    expect(await main(['info', 'm.gguf', '--verbose'])).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^rocforge info: TypeError: boom\n\s+at /);
  });

  it("a RocforgeError is its message on one line, exit 1; a UsageError's exit is 2", async () => {
    failure.error = new InvalidRequestError('bad value\nfor --x');
    expect(await main(['info', 'm.gguf'])).toBe(1);
    failure.error = new UsageError("unknown option '--y'");
    expect(await main(['info', 'm.gguf'])).toBe(2);
    expect(err).toEqual(['rocforge info: bad value for --x', "rocforge info: unknown option '--y'"]);
  });
});
