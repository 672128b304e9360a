// The model-loading progress bar: redrawn in place on a terminal, every 25 % elsewhere.
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/server/progress-bar.ts';

function sink(isTTY: boolean): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const out = { isTTY, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { out, text: () => text };
}

describe('ProgressBar', () => {
  it('prints one line per quarter when not on a terminal', () => {
    const s = sink(false);
    const bar = new ProgressBar('loading m.gguf', s.out);
    for (let i = 0; i <= 100; i++) bar.update(i * 1e6, 100e6);
    bar.finish();
    expect(s.text().split('\n').filter(Boolean)).toEqual([
      'loading m.gguf: 0% (0.0/100.0 MB)',
      'loading m.gguf: 25% (25.0/100.0 MB)',
      'loading m.gguf: 50% (50.0/100.0 MB)',
      'loading m.gguf: 75% (75.0/100.0 MB)',
      'loading m.gguf: 100% (100.0/100.0 MB)',
    ]);
  });

  it('redraws a bar in place on a terminal and always draws 100 %, then ends the line', () => {
    const s = sink(true);
    const bar = new ProgressBar('loading', s.out);
    bar.update(0, 200);
    bar.update(50, 200); // within 50 ms of the last draw: skipped
    bar.update(200, 200);
    bar.finish();
    const frames = s.text().split('\r').filter(Boolean);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toBe(`loading [${'-'.repeat(30)}]   0%  0.0/0.0 MB`);
    expect(frames[1]).toBe(`loading [${'#'.repeat(30)}] 100%  0.0/0.0 MB\n`);
  });
});
