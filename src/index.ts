// The library's public entry: `import { InferenceEngine } from 'rocforge'`. Everything here is part of
// the package's API (package.json "exports" points at its compiled form); the rest of src/ is internal.

// The engine: load a GGUF model, generate, stream, chat.
export { InferenceEngine } from './engine/engine.ts';
export type {
  BackendChoice,
  ChatMessage,
  ChatOptions,
  EngineOptions,
  EngineStats,
  FinishReason,
  GenerateOptions,
  GenerateResult,
  Prompt,
  SamplingOptions,
  StreamChunk,
  Timings,
  TokenLogprob,
} from './engine/types.ts';
export type { Tokenizer, EncodeOptions, DecodeOptions } from './tokenizer/tokenizer.ts';

// The small model shipped in the package (stories260K, MIT: models/LICENSE-stories260K.md).
export { DEFAULT_MODEL_PATH } from './server/model-source.ts';

// Backends, for callers that share one backend between engines (EngineOptions.backend).
export { createBackend } from './backends/index.ts';
export type { BackendOptions, Numerics } from './backends/index.ts';
export type { Backend, BackendName } from './backends/backend.ts';

// Typed errors: every failure of the API is one of these.
export {
  BackendUnavailableError,
  ChatTemplateError,
  ContextOverflowError,
  DeviceOutOfMemoryError,
  GgufError,
  InvalidRequestError,
  ModelNotFoundError,
  QueueFullError,
  RocforgeError,
  UnsupportedModelError,
  UnsupportedTokenizerError,
} from './errors.ts';

// Reading GGUF files: metadata and tensors without loading a model.
export { GgufFile } from './gguf/reader.ts';
export { GgmlType, typeName } from './gguf/types.ts';
export type { GgufHeader, GgufValue, TensorInfo } from './gguf/types.ts';
