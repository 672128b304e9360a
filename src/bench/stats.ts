// Summary statistics of benchmark repetitions: llama-bench's mean and sample standard deviation,
// and the median with min–max, which a single slow repetition (a clock ramp, a page fault) moves
// less than it moves the mean.

export interface Spread {
  readonly mean: number;
  /** Sample standard deviation (n - 1); 0 for a single sample, as llama-bench computes it. */
  readonly stddev: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function stddev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The middle value, or the mean of the two middle values; 0 for no values. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function spread(xs: readonly number[]): Spread {
  return {
    mean: mean(xs),
    stddev: stddev(xs),
    median: median(xs),
    min: xs.length ? Math.min(...xs) : 0,
    max: xs.length ? Math.max(...xs) : 0,
  };
}
