// Prometheus text exposition of the server's counters and the engine's gauges.
import type { ServingStats } from './serving-engine.ts';

/** Generated tokens per second over a sliding window, sampled once a second. */
export class RateWindow {
  private readonly samples: Array<{ t: number; total: number }> = [];

  constructor(private readonly windowMs = 10_000) {}

  sample(total: number, now = Date.now()): void {
    this.samples.push({ t: now, total });
    while (this.samples.length > 2 && now - this.samples[1]!.t >= this.windowMs) this.samples.shift();
  }

  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? Math.max(0, last.total - first.total) / dt : 0;
  }
}

/** A Prometheus histogram with fixed buckets (seconds). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (value <= b) this.counts[i]!++;
    });
  }

  lines(name: string): string[] {
    return [
      ...this.buckets.map((b, i) => `${name}_bucket{le="${b}"} ${this.counts[i]}`),
      `${name}_bucket{le="+Inf"} ${this.count}`,
      `${name}_sum ${round(this.sum)}`,
      `${name}_count ${this.count}`,
    ];
  }
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ServerMetrics {
  /** Request start to first generated token, for streamed generations. */
  readonly timeToFirstToken = new Histogram(LATENCY_BUCKETS);
  /** Request start to the end of the response, for generations that completed. */
  readonly generationDuration = new Histogram(LATENCY_BUCKETS);

  /** `${method} ${route} ${status}` -> count. */
  private readonly requests = new Map<string, number>();
  readonly tokensPerSecond = new RateWindow();
  readonly promptTokensPerSecond = new RateWindow();
  private readonly startedAt = Date.now();

  countRequest(method: string, route: string, status: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  sample(stats: ServingStats | undefined, now = Date.now()): void {
    if (!stats) return;
    this.tokensPerSecond.sample(stats.generatedTokensTotal, now);
    this.promptTokensPerSecond.sample(stats.promptTokensTotal, now);
  }

  render(stats: ServingStats | undefined, loaded: boolean): string {
    const out: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[labels: string, value: number]>): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) out.push(`${name}${labels} ${Number.isFinite(value) ? value : 0}`);
    };
    metric('rocforge_model_loaded', 'gauge', '1 once the model is loaded and requests are served.', [['', loaded ? 1 : 0]]);
    metric('rocforge_uptime_seconds', 'gauge', 'Seconds since the server started.', [['', (Date.now() - this.startedAt) / 1000]]);
    metric(
      'rocforge_http_requests_total',
      'counter',
      'HTTP requests answered, by method, route and status.',
      [...this.requests].map(([key, n]) => {
        const [method, route, status] = key.split('\u0000');
        return [`{method="${esc(method!)}",route="${esc(route!)}",status="${status}"}`, n];
      }),
    );
    out.push('# HELP rocforge_time_to_first_token_seconds Time from request to first streamed token.', '# TYPE rocforge_time_to_first_token_seconds histogram');
    out.push(...this.timeToFirstToken.lines('rocforge_time_to_first_token_seconds'));
    out.push('# HELP rocforge_generation_duration_seconds Time from request to complete response, for completed generations.', '# TYPE rocforge_generation_duration_seconds histogram');
    out.push(...this.generationDuration.lines('rocforge_generation_duration_seconds'));
    if (stats) {
      metric('rocforge_requests_total', 'counter', 'Generation requests the engine accepted.', [['', stats.requestsTotal]]);
      metric('rocforge_prompt_tokens_total', 'counter', 'Prompt tokens processed.', [['', stats.promptTokensTotal]]);
      metric('rocforge_generated_tokens_total', 'counter', 'Tokens generated.', [['', stats.generatedTokensTotal]]);
      if (stats.promptTokensCachedTotal !== undefined) {
        metric('rocforge_prompt_tokens_cached_total', 'counter', 'Prompt tokens reused from a KV-cache slot (prefix cache) instead of recomputed.', [['', stats.promptTokensCachedTotal]]);
      }
      if (stats.stepsTotal !== undefined) metric('rocforge_forward_steps_total', 'counter', 'Forward batches run (continuous batching steps).', [['', stats.stepsTotal]]);
      metric('rocforge_tokens_per_second', 'gauge', 'Generated tokens per second over the last 10 s.', [['', round(this.tokensPerSecond.rate())]]);
      metric('rocforge_prompt_tokens_per_second', 'gauge', 'Prompt tokens processed per second over the last 10 s.', [['', round(this.promptTokensPerSecond.rate())]]);
      metric('rocforge_queue_depth', 'gauge', 'Requests waiting for a free KV-cache slot.', [['', stats.queued]]);
      metric('rocforge_active_sequences', 'gauge', 'Sequences being processed.', [['', stats.activeSequences]]);
      metric('rocforge_slots_busy', 'gauge', 'KV-cache slots in use.', [['', stats.slotsBusy]]);
      metric('rocforge_slots_total', 'gauge', 'KV-cache slots (--parallel).', [['', stats.slotsTotal]]);
      metric('rocforge_kv_cache_used_tokens', 'gauge', 'KV-cache positions in use, all slots.', [['', stats.kvCacheUsedTokens]]);
      metric('rocforge_kv_cache_total_tokens', 'gauge', 'KV-cache positions, all slots.', [['', stats.kvCacheTotalTokens]]);
      metric('rocforge_kv_cache_usage_ratio', 'gauge', 'Fraction of the KV cache in use.', [
        ['', stats.kvCacheTotalTokens > 0 ? round(stats.kvCacheUsedTokens / stats.kvCacheTotalTokens) : 0],
      ]);
    }
    return out.join('\n') + '\n';
  }
}

function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
