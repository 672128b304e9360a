// Typed errors. Every message says what was wrong and what to do about it.

export class RocforgeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A GGUF file that cannot be trusted: names the file and the problem. */
export class GgufError extends RocforgeError {
  constructor(readonly file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
  }
}

/** A model path that does not exist or cannot be read. */
export class ModelNotFoundError extends RocforgeError {}

/** A GGUF that parses but describes a model we cannot run (unknown architecture, missing tensor...). */
export class UnsupportedModelError extends RocforgeError {}

/** Bad arguments from a caller (negative maxTokens, prompt longer than the context...). */
export class InvalidRequestError extends RocforgeError {}

/** The prompt plus the tokens asked for do not fit the context window. */
export class ContextOverflowError extends InvalidRequestError {}

/** A device allocation failed: the model or cache does not fit the accelerator's memory. */
export class DeviceOutOfMemoryError extends RocforgeError {}

/** A requested backend is not available on this machine (no adapter, no HIP library). */
export class BackendUnavailableError extends RocforgeError {}

/** A GGUF whose tokenizer (tokenizer.ggml.model / pre) rocforge cannot reproduce. */
export class UnsupportedTokenizerError extends UnsupportedModelError {}

/** A chat template that fails to render (syntax error, raise_exception in the template...). */
export class ChatTemplateError extends RocforgeError {}

/** The engine's request queue is full: retry later (HTTP 503/429), or raise maxQueue / parallel. */
export class QueueFullError extends RocforgeError {}

/** Bad command-line usage (unknown option, missing or malformed value): the CLI exits with code 2. */
export class UsageError extends InvalidRequestError {}

/** A GPU kernel could not be launched (or failed while running, where the runtime can tell which): names the kernel. */
export class KernelLaunchError extends RocforgeError {
  constructor(
    readonly kernel: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Another engine's tool (llama-bench, llama-server) could not be run, or its output could not be read. */
export class ReferenceToolError extends RocforgeError {}
