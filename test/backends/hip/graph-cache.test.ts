// The graph policy and the command-list encoding on their own (no runtime).
import { describe, expect, it } from 'vitest';
import { CommandList, listBuffers, listShape, OP_LAUNCH, OP_WRITE } from '../../../src/backends/hip/command-list.ts';
import { GraphCache } from '../../../src/backends/hip/graph-cache.ts';

function list(kernel: number, param: number, buffer = 7, input = 1): Uint32Array {
  const l = new CommandList();
  l.write(buffer, 0, Uint8Array.of(input, 2, 3));
  l.launch({ kernel, groups: [2, 1, 1], wg: 64, dequant: 0, variant: 0, reduce: 1, params: [param, { f: 0.5 }], buffers: [buffer, 9] });
  return l.words.slice();
}

describe('command list', () => {
  it('encodes launch and write records as rocforge_hip.h says, data apart and padded', () => {
    const l = new CommandList();
    l.write(3, 2 ** 32 + 8, Uint8Array.of(1, 2, 3, 4, 5));
    l.launch({ kernel: 4, groups: [5, 6, 1], wg: 0, dequant: 12, variant: 2, reduce: 0, params: [7, { f: -1 }], buffers: [3] });
    expect(Array.from(l.words)).toEqual([OP_WRITE | (6 << 8), 3, 8, 1, 5, 0, OP_LAUNCH | (14 << 8), 4, 5, 6, 1, 0, 12, 2, 0, 2, 1, 7, 0xbf800000, 3]);
    expect(Array.from(l.data)).toEqual([0x04030201, 5]);
    expect(Array.from(listShape(l.words))).toEqual([OP_WRITE, 0, 6, OP_LAUNCH, 4, 14]);
    expect([...listBuffers(l.words)]).toEqual([3]);
    l.clear();
    expect(l.empty).toBe(true);
  });

  it('grows past its first capacity without losing records', () => {
    const l = new CommandList();
    for (let i = 0; i < 2000; i++) l.launch({ kernel: i, groups: [1, 1, 1], wg: 0, dequant: 0, variant: 0, reduce: 0, params: [i], buffers: [i] });
    expect(l.words.length).toBe(2000 * 13);
    expect(l.words[1999 * 13 + 1]).toBe(1999);
  });
});

describe('graph cache', () => {
  it('eager, capture on the second sighting, replay; update for a list of the same shape; eager for a new shape', () => {
    const g = new GraphCache<string>();
    const a = list(1, 10);
    expect(g.plan(a).kind).toBe('eager');
    g.ran(a);
    expect(g.plan(list(1, 10, 7, 99)).kind).toBe('capture'); // inputs differ only in data
    expect(g.add('G1', a)).toEqual([]);
    g.ran(a);
    const replay = g.plan(a);
    expect(replay.kind === 'replay' && replay.entry.graph).toBe('G1');
    const b = list(1, 11);
    const upd = g.plan(b);
    expect(upd.kind === 'update' && upd.entry.graph).toBe('G1');
    if (upd.kind === 'update') g.updated(upd.entry, b);
    expect(g.plan(b).kind).toBe('replay');
    expect(g.plan(list(2, 11)).kind).toBe('eager');
  });

  it('keeps at most max graphs, dropping the least recently used, and drops graphs naming a freed buffer', () => {
    const g = new GraphCache<string>(2);
    g.add('A', list(1, 1, 5));
    g.add('B', list(2, 1, 6));
    const a = g.plan(list(1, 1, 5));
    if (a.kind === 'replay') g.used(a.entry);
    expect(g.add('C', list(3, 1, 7))).toEqual(['B']);
    expect(g.forgetBuffer(9).sort()).toEqual(['A', 'C']);
    expect(g.size).toBe(0);
  });
});
