import { describe, expect, it } from 'vitest';
import { KvSlots } from '../../src/engine/kv-slots.ts';

describe('KvSlots', () => {
  it('hands out the lowest free slot until none is left', () => {
    const s = new KvSlots(3);
    expect([s.acquire(), s.acquire(), s.acquire(), s.acquire()].map((g) => g?.slot)).toEqual([0, 1, 2, undefined]);
    expect(s.busy).toBe(3);
    s.release(1);
    expect(s.free).toBe(1);
    expect(s.acquire()).toEqual({ slot: 1, cached: 0 });
  });

  it('refuses a double release (a bug that would let two sequences share a slot)', () => {
    const s = new KvSlots(1);
    const a = s.acquire()!.slot;
    s.release(a);
    expect(() => s.release(a)).toThrow(/released twice/);
  });

  it('gives a prompt the free slot holding its longest prefix, always leaving one token to compute', () => {
    const s = new KvSlots(3);
    const a = s.acquire()!.slot;
    const b = s.acquire()!.slot;
    s.release(a, [1, 2, 3]);
    s.release(b, [1, 2, 3, 4, 5]);
    expect(s.acquire([1, 2, 3, 4, 9])).toEqual({ slot: b, cached: 4 });
    expect(s.acquire([1, 2, 3])).toEqual({ slot: a, cached: 2 });
  });

  it('forgets a slot contents once it is handed out, and on a release without contents', () => {
    const s = new KvSlots(1);
    s.release(s.acquire()!.slot, [7, 8, 9]);
    expect(s.acquire([7, 8, 9, 10])).toEqual({ slot: 0, cached: 3 });
    s.release(0);
    expect(s.acquire([7, 8, 9, 10])).toEqual({ slot: 0, cached: 0 });
  });

  it('never reuses when prefix reuse is off', () => {
    const s = new KvSlots(1, false);
    s.release(s.acquire()!.slot, [7, 8, 9]);
    expect(s.acquire([7, 8, 9, 10])).toEqual({ slot: 0, cached: 0 });
  });
});
