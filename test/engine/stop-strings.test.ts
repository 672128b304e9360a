import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StopStringMatcher } from '../../src/engine/stop-strings.ts';

/** Feeds pieces until a stop; returns the emitted text and whether it stopped. */
function run(stops: string[], pieces: string[]): { out: string; stopped: boolean; emitted: string[] } {
  const m = new StopStringMatcher(stops);
  const emitted: string[] = [];
  for (const p of pieces) {
    const r = m.push(p);
    emitted.push(r.text);
    if (r.stopped) return { out: emitted.join(''), stopped: true, emitted };
  }
  emitted.push(m.flush());
  return { out: emitted.join(''), stopped: false, emitted };
}

describe('StopStringMatcher', () => {
  it('cuts the text right before a stop string that spans pieces', () => {
    expect(run(['</s>'], ['Hello <', '/', 's> world'])).toMatchObject({ out: 'Hello ', stopped: true });
  });

  it('holds back only what could still start a stop string', () => {
    const m = new StopStringMatcher(['STOP']);
    expect(m.push('abcS')).toEqual({ text: 'abc', stopped: false });
    expect(m.push('T')).toEqual({ text: '', stopped: false });
    expect(m.push('x')).toEqual({ text: 'STx', stopped: false });
    expect(m.flush()).toBe('');
  });

  it('releases a held-back partial stop string when generation ends', () => {
    expect(run(['###'], ['a', '##'])).toEqual({ out: 'a##', stopped: false, emitted: ['a', '', '##'] });
  });

  it('stops at the earliest of several stop strings', () => {
    expect(run(['world', 'lo w'], ['hello world'])).toMatchObject({ out: 'hel', stopped: true });
  });

  it('ignores empty stop strings and passes text through when there are none', () => {
    expect(run([''], ['ab', 'c'])).toEqual({ out: 'abc', stopped: false, emitted: ['ab', 'c', ''] });
  });

  it('equals truncating the whole text at the first stop, for any split (property)', () => {
    const seed = Date.now();
    console.log(`stop-strings property seed: ${seed}`);
    const alpha = fc.constantFrom('a', 'b', 'c', 'é', '\n');
    const str = (min: number, max: number) => fc.array(alpha, { minLength: min, maxLength: max }).map((a) => a.join(''));
    fc.assert(
      fc.property(str(0, 40), fc.array(str(1, 4), { minLength: 1, maxLength: 3 }), fc.array(fc.nat(40)), (text, stops, cuts) => {
        const points = [...new Set(cuts.filter((c) => c < text.length))].sort((a, b) => a - b);
        const pieces: string[] = [];
        let last = 0;
        for (const p of points) {
          pieces.push(text.slice(last, p));
          last = p;
        }
        pieces.push(text.slice(last));
        const firsts = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
        const at = firsts.length ? Math.min(...firsts) : -1;
        const r = run(stops, pieces);
        expect(r.stopped).toBe(at >= 0);
        expect(r.out).toBe(at >= 0 ? text.slice(0, at) : text);
        // nothing emitted ever contains a stop string
        for (const s of stops) expect(r.out.includes(s)).toBe(false);
      }),
      { seed, numRuns: 300 },
    );
  });
});
