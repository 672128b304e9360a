// What distinguishes one decoder-only architecture from another in the shared transformer block.

export interface Architecture {
  /** general.architecture value. */
  readonly name: string;
  /** Rope pairing: llama.cpp's LLAMA_ROPE_TYPE_NORM ('normal') or LLAMA_ROPE_TYPE_NEOX ('neox'). */
  readonly rope: 'normal' | 'neox';
  /** The Q, K and V projections must carry biases (otherwise biases are used when the file has them). */
  readonly qkvBias: boolean;
}
