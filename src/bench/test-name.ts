// Benchmark test names: llama-bench's (pp512, tg128), and for B sequences decoding together
// `tg128@b8`: B slots, each generating 128 tokens, one row per slot per forward step; its t/s
// counts all B x 128 tokens (aggregate throughput, llama-batched-bench's S_TG).

export function testName(r: { readonly nPrompt: number; readonly nGen: number; readonly nSeq?: number }): string {
  const base = r.nGen === 0 ? `pp${r.nPrompt}` : r.nPrompt === 0 ? `tg${r.nGen}` : `pp${r.nPrompt}+tg${r.nGen}`;
  return (r.nSeq ?? 1) > 1 ? `${base}@b${r.nSeq}` : base;
}
