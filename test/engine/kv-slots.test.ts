import { describe, expect, it } from 'vitest';
import { KvSlots } from '../../src/engine/kv-slots.ts';

describe('KvSlots', () => {
  it('hands out the lowest free slot until none is left', () => {
    const s = new KvSlots(3);
    expect([s.acquire(), s.acquire(), s.acquire(), s.acquire()]).toEqual([0, 1, 2, undefined]);
    expect(s.busy).toBe(3);
    s.release(1);
    expect(s.free).toBe(1);
    expect(s.acquire()).toBe(1);
  });

  it('refuses a double release (a bug that would let two sequences share a slot)', () => {
    const s = new KvSlots(1);
    const a = s.acquire()!;
    s.release(a);
    expect(() => s.release(a)).toThrow(/released twice/);
  });
});
