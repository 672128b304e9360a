// What distinguishes one decoder-only architecture from another in the shared transformer block.
// Only data: the hyper-parameter reader (hparams.ts), the weight loader (weights.ts) and the one
// forward pass (graph.ts) follow it; no architecture has code of its own.

/** The hyper-parameters an architecture's query scale depends on. */
export interface ShapeParams {
  readonly dim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly headDim: number;
}

export interface Architecture {
  /** general.architecture value. */
  readonly name: string;
  /** Rope pairing: llama.cpp's LLAMA_ROPE_TYPE_NORM ('normal') or LLAMA_ROPE_TYPE_NEOX ('neox'). */
  readonly rope: 'normal' | 'neox';
  /** The Q, K and V projections must carry biases (otherwise biases are used when the file has them). */
  readonly qkvBias: boolean;
  /** Q, K and V come as one attn_qkv matrix (q rows, then k, then v), split into three at load. */
  readonly fusedQkv: boolean;
  /** ffn_up holds the gate rows then the up rows and there is no ffn_gate (split into two at load). */
  readonly fusedGateUp: boolean;
  /** The gated feed-forward's activation: silu (swiglu) or GELU in its tanh form (geglu). */
  readonly activation: 'silu' | 'gelu';
  /** RMS norms of the attention and feed-forward outputs before each residual add (post_attention_norm, post_ffw_norm). */
  readonly postNorms: boolean;
  /** The embeddings are multiplied by sqrt(dim) before the first layer. */
  readonly embedScale: boolean;
  /** output.weight: 'optional' (the head is token_embd when it is absent), 'required', or 'tied' (always token_embd). */
  readonly output: 'optional' | 'required' | 'tied';
  /** rope_freqs.weight (Llama 3.1 frequency factors) applies when the file has it. */
  readonly ropeFreqs: boolean;
  /** Layers that attend through attention.sliding_window: none, every one, or the even ones (0, 2, ...). */
  readonly windowLayers: 'none' | 'all' | 'even';
  /**
   * llama.cpp's window when the file has no attention.sliding_window key (older conversions), or
   * undefined when the key is required.
   */
  readonly defaultWindow?: (shape: ShapeParams, contextLength: number, nKvHeads: number) => number | undefined;
  /** attn_logit_softcapping and final_logit_softcapping apply (llama.cpp's defaults 50 and 30 when absent). */
  readonly softcaps: boolean;
  /**
   * Where 1/sqrt(head dim) goes: 'softmax' multiplies the scores (llama's kq_scale); a function gives
   * the factor q is multiplied by after rope, the softmax's own scale then being 1 (phi3, gemma2).
   */
  readonly queryScale: 'softmax' | ((shape: ShapeParams) => number);
}
