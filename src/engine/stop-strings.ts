// Stop strings over streamed text: emits only text that cannot be the start of a stop string, so a
// stop string split across tokens is still caught and never half-printed.

export interface StopPush {
  /** Text safe to emit now. */
  text: string;
  /** A stop string occurred; `text` ends right before it and the rest is discarded. */
  stopped: boolean;
}

export class StopStringMatcher {
  private pending = '';
  private readonly stops: string[];

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  push(piece: string): StopPush {
    if (this.stops.length === 0) return { text: piece, stopped: false };
    const buf = this.pending + piece;
    let at = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      this.pending = '';
      return { text: buf.slice(0, at), stopped: true };
    }
    const hold = this.partialSuffix(buf);
    this.pending = buf.slice(buf.length - hold);
    return { text: buf.slice(0, buf.length - hold), stopped: false };
  }

  /** Generation ended without a stop: releases the held-back text. */
  flush(): string {
    const t = this.pending;
    this.pending = '';
    return t;
  }

  /** Length of the longest suffix of buf that is a proper prefix of some stop string. */
  private partialSuffix(buf: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > best; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
