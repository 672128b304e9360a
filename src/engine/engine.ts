// The inference engine: a model, its tokenizer and a KV cache of `parallel` slots on one backend,
// served by the continuous-batching scheduler. Every public entry point validates its inputs and
// fails with a typed error (src/errors.ts); nothing here reads past a slot's context.
import { basename } from 'node:path';
import type { Backend, KvCache } from '../backends/backend.ts';
import { createBackend } from '../backends/index.ts';
import { ContextOverflowError, InvalidRequestError, RocforgeError } from '../errors.ts';
import { GgufFile } from '../gguf/reader.ts';
import { Model, type HParams } from '../model/model.ts';
import { chatTemplateOf, renderChat } from '../tokenizer/chat-template.ts';
import { StreamDecoder } from '../tokenizer/stream-decoder.ts';
import { createTokenizer, type Tokenizer } from '../tokenizer/tokenizer.ts';
import type { GgufValue } from '../gguf/types.ts';
import { GenerationStream } from './generation-stream.ts';
import { Sampler } from './sampler.ts';
import { Scheduler } from './scheduler.ts';
import { Sequence } from './sequence.ts';
import type { ChatMessage, ChatOptions, EngineOptions, EngineStats, GenerateOptions, GenerateResult, Prompt } from './types.ts';
import { validateEngineOptions, validateGenerateOptions, validateMessages, validatePrompt } from './validate.ts';

/** Default context when neither the caller nor a small model sets one: bounds KV memory. */
const DEFAULT_CONTEXT_CAP = 4096;
const DEFAULT_MAX_TOKENS = 128;
/** Stop string for the plain transcript used when a model has no chat template. */
const PLAIN_CHAT_STOP = '\nUser:';

export class InferenceEngine {
  private readonly scheduler: Scheduler;
  private disposed = false;
  private nextId = 1;

  private constructor(
    readonly modelPath: string,
    readonly metadata: ReadonlyMap<string, GgufValue>,
    readonly backend: Backend,
    private readonly ownsBackend: boolean,
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    private readonly cache: KvCache,
    readonly contextLength: number,
    readonly parallel: number,
    maxQueue: number,
    prefillChunk: number,
    promptCache: boolean,
  ) {
    this.scheduler = new Scheduler(
      {
        vocabSize: model.hparams.vocabSize,
        forward: (batch) => model.forward(batch, cache),
      },
      { nSlots: parallel, contextLength, maxQueue, prefillChunk, promptCache },
    );
  }

  /**
   * Loads a GGUF model. Rejects with ModelNotFoundError (no such file), GgufError (not a valid GGUF),
   * UnsupportedModelError / UnsupportedTokenizerError, BackendUnavailableError, InvalidRequestError
   * (bad options) or DeviceOutOfMemoryError; nothing is left allocated when it rejects.
   */
  static async create(modelPath: string, opts: EngineOptions = {}): Promise<InferenceEngine> {
    if (typeof modelPath !== 'string' || modelPath.length === 0) {
      throw new InvalidRequestError('the model path must be a non-empty string: pass the path of a .gguf file');
    }
    validateEngineOptions(opts);
    const parallel = opts.parallel ?? 1;
    const file = await GgufFile.open(modelPath);
    let backend: Backend | undefined;
    const ownsBackend = typeof opts.backend !== 'object';
    let model: Model | undefined;
    let cache: KvCache | undefined;
    try {
      const tokenizer = createTokenizer(file.metadata);
      backend = typeof opts.backend === 'object' ? opts.backend : await createBackend(opts.backend ?? 'auto', { numerics: opts.numerics });
      model = await Model.load(file, backend, { onProgress: opts.onProgress });
      if (tokenizer.vocabSize !== model.hparams.vocabSize) {
        throw new RocforgeError(
          `${modelPath}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding has ${model.hparams.vocabSize} rows: the file is inconsistent`,
        );
      }
      const contextLength = opts.contextLength ?? Math.min(model.hparams.contextLength || DEFAULT_CONTEXT_CAP, DEFAULT_CONTEXT_CAP);
      cache = model.createKvCache(parallel, contextLength);
      return new InferenceEngine(
        modelPath,
        file.metadata,
        backend,
        ownsBackend,
        model,
        tokenizer,
        cache,
        contextLength,
        parallel,
        opts.maxQueue ?? 64,
        opts.prefillChunk ?? 256,
        opts.promptCache ?? true,
      );
    } catch (e) {
      if (cache && backend) backend.release(cache);
      model?.dispose();
      if (ownsBackend) backend?.dispose();
      throw e;
    } finally {
      await file.close();
    }
  }

  get hparams(): HParams {
    return this.model.hparams;
  }

  /** general.name from the metadata, else the file name without .gguf. */
  get modelName(): string {
    const n = this.metadata.get('general.name');
    return typeof n === 'string' && n.length > 0 ? n : basename(this.modelPath).replace(/\.gguf$/i, '');
  }

  tokenize(text: string, opts: { addSpecial?: boolean; parseSpecial?: boolean } = {}): number[] {
    if (typeof text !== 'string') throw new InvalidRequestError('tokenize: text must be a string');
    return this.tokenizer.encode(text, { addSpecial: opts.addSpecial ?? true, parseSpecial: opts.parseSpecial ?? false });
  }

  detokenize(ids: readonly number[]): string {
    validatePrompt(ids, this.tokenizer.vocabSize);
    return this.tokenizer.decode(ids);
  }

  /**
   * Starts a generation and returns its stream of chunks (for await ... of). Throws at once
   * (InvalidRequestError, ContextOverflowError, QueueFullError) when the request cannot run.
   * Breaking out of the loop, calling stream.cancel() or aborting opts.signal ends it and frees its
   * slot; stream.result() gives the final result.
   */
  generateStreaming(prompt: Prompt, opts: GenerateOptions = {}): GenerationStream {
    this.assertOpen();
    const o = validateGenerateOptions(opts);
    const p = validatePrompt(prompt, this.tokenizer.vocabSize);
    const tokens = this.promptTokens(p, o.addSpecial ?? true, o.parseSpecial ?? false);
    return this.start(tokens, o);
  }

  /** Generates to the end and returns the result; rejects like generateStreaming, or with signal.reason when aborted. */
  async generate(prompt: Prompt, opts: GenerateOptions = {}): Promise<GenerateResult> {
    return this.generateStreaming(prompt, opts).result();
  }

  /** The prompt text a conversation renders to (the model's chat template, else a plain transcript). */
  renderChat(messages: ChatMessage[], opts: Pick<ChatOptions, 'template'> = {}): string {
    validateMessages(messages);
    return renderChat(this.metadata, messages, { addGenerationPrompt: true, template: opts.template });
  }

  chatStreaming(messages: ChatMessage[], opts: ChatOptions = {}): GenerationStream {
    this.assertOpen();
    const text = this.renderChat(messages, opts);
    const o = validateGenerateOptions(opts);
    if (opts.template === undefined && chatTemplateOf(this.metadata) === undefined && !o.stop.includes(PLAIN_CHAT_STOP)) {
      // The plain transcript has no end-of-turn token: end the reply where the next turn would begin.
      o.stop.push(PLAIN_CHAT_STOP);
    }
    let tokens = this.tokenizer.encode(text, { addSpecial: o.addSpecial ?? true, parseSpecial: o.parseSpecial ?? true });
    // Templates often write BOS themselves; llama.cpp warns on a doubled BOS, we drop one.
    const bos = this.tokenizer.bosId;
    if (bos !== undefined && tokens.length > 1 && tokens[0] === bos && tokens[1] === bos) tokens = tokens.slice(1);
    return this.start(this.nonEmpty(tokens), o);
  }

  async chat(messages: ChatMessage[], opts: ChatOptions = {}): Promise<GenerateResult> {
    return this.chatStreaming(messages, opts).result();
  }

  stats(): EngineStats {
    return this.scheduler.stats();
  }

  /** Fails running requests, then releases the KV cache, the weights and (if the engine made it) the backend. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.scheduler.close(new RocforgeError('the engine was disposed while this request ran'));
    this.backend.release(this.cache);
    this.model.dispose();
    if (this.ownsBackend) this.backend.dispose();
  }

  private assertOpen(): void {
    if (this.disposed) throw new RocforgeError('this engine was disposed: create a new one with InferenceEngine.create');
  }

  private promptTokens(p: Prompt, addSpecial: boolean, parseSpecial: boolean): number[] {
    const tokens = typeof p === 'string' ? this.tokenizer.encode(p, { addSpecial, parseSpecial }) : [...p];
    return this.nonEmpty(tokens);
  }

  /** An empty prompt runs from BOS alone (or EOS for models without one): there must be a first row. */
  private nonEmpty(tokens: number[]): number[] {
    if (tokens.length > 0) return tokens;
    const t = this.tokenizer.bosId ?? this.tokenizer.eosId;
    if (t === undefined) throw new InvalidRequestError('the prompt is empty and this model has no BOS token to start from: pass some text');
    return [t];
  }

  private start(tokens: number[], o: ReturnType<typeof validateGenerateOptions>): GenerationStream {
    const ctx = this.contextLength;
    if (tokens.length > ctx) {
      throw new ContextOverflowError(
        `the prompt is ${tokens.length} tokens but the context holds ${ctx}: shorten the prompt or raise contextLength (--ctx-size)`,
      );
    }
    // Unset maxTokens means "up to 128, within the context"; an explicit one must fit.
    const maxTokens = o.maxTokens ?? Math.min(DEFAULT_MAX_TOKENS, ctx - tokens.length);
    if (tokens.length + maxTokens > ctx) {
      throw new ContextOverflowError(
        `the prompt (${tokens.length} tokens) plus maxTokens (${maxTokens}) exceeds the context of ${ctx} tokens: ask for at most ${ctx - tokens.length} tokens, shorten the prompt or raise contextLength (--ctx-size)`,
      );
    }
    const signal = o.signal;
    if (signal?.aborted) throw signal.reason;

    let seq: Sequence | undefined;
    const stream = new GenerationStream((reason) => {
      if (seq) this.scheduler.cancel(seq, reason);
    });
    seq = new Sequence({
      id: this.nextId++,
      promptTokens: tokens,
      maxTokens,
      sampler: new Sampler(o),
      stop: o.stop,
      logprobs: o.logprobs ?? 0,
      isEog: (id) => this.tokenizer.isEog(id),
      // Generated control tokens (<s>, <|im_end|>...) are not text: llama.cpp leaves them out too.
      decoder: new StreamDecoder(this.tokenizer, { skipSpecial: true }),
      stream,
    });
    if (maxTokens === 0) {
      seq.finishWith('length');
      return stream;
    }
    this.scheduler.submit(seq);
    if (signal) {
      const onAbort = (): void => stream.cancel(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const off = (): void => signal.removeEventListener('abort', onAbort);
      stream.result().then(off, off);
    }
    return stream;
  }
}
