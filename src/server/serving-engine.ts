// What the HTTP layer needs from an engine. InferenceEngine (src/engine/engine.ts) satisfies it;
// unit tests of the HTTP layer inject a small deterministic fake with the same shape.
import type { ChatMessage, EngineStats, GenerateOptions, GenerateResult, Prompt, StreamChunk } from '../engine/types.ts';

/**
 * Engine counters and gauges, read by /metrics and by tests (slotsBusy back to 0 after a disconnect).
 * The batching-specific counters are optional so that simple fakes can serve the HTTP tests.
 */
export type ServingStats = Omit<EngineStats, 'stepsTotal' | 'promptTokensCachedTotal'> &
  Partial<Pick<EngineStats, 'stepsTotal' | 'promptTokensCachedTotal'>>;

/**
 * A token stream. The final GenerateResult (for `usage` and `finish_reason`) comes from `result()`
 * when the stream has it, else from an async generator's return value; failing both, the server
 * counts the chunks itself.
 */
export type ChunkStream = AsyncIterable<StreamChunk> & { result?(): Promise<GenerateResult> };

export interface ServingEngine {
  generate(prompt: Prompt, opts?: GenerateOptions): Promise<GenerateResult>;
  generateStreaming(prompt: Prompt, opts?: GenerateOptions): ChunkStream | Promise<ChunkStream>;
  chat(messages: ChatMessage[], opts?: GenerateOptions): Promise<GenerateResult>;
  chatStreaming(messages: ChatMessage[], opts?: GenerateOptions): ChunkStream | Promise<ChunkStream>;
  tokenize(text: string): number[] | Promise<number[]>;
  detokenize(tokens: number[]): string | Promise<string>;
  stats(): ServingStats;
  dispose(): void | Promise<void>;
}
