// Runs one generation request for a route, streamed (SSE) or whole, and ties it to the client's
// connection: when the client goes away the engine request is aborted, which frees its KV slot.
import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { FinishReason, GenerateOptions, GenerateResult, StreamChunk, TokenLogprob } from '../engine/types.ts';
import type { ServerContext } from './context.ts';
import { isAbort, toApiError } from './errors.ts';
import type { ChunkStream, ServingEngine } from './serving-engine.ts';
import { SseWriter } from './sse.ts';
import type { CommonRequest } from './validate.ts';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** OpenAI's report of prompt tokens served from cache (here: a slot's reused K/V prefix). */
  prompt_tokens_details?: { cached_tokens: number };
}

/** One generated token's log-prob with its text, in the form both response shapes are built from. */
export interface TokenLogprobView {
  token: string;
  logprob: number;
  bytes: number[];
  top: Array<{ token: string; logprob: number; bytes: number[] }>;
}

/** How a route shapes its responses (chat.completion vs text_completion). */
export interface ResponseShape {
  idPrefix: string;
  object: string;
  chunkObject: string;
  /** The single choice of a whole response. */
  choice(text: string, finishReason: FinishReason, logprobs: TokenLogprobView[] | undefined): object;
  /** Chat sends the assistant role first; completions send nothing. */
  firstChunkChoice(): object | undefined;
  deltaChoice(text: string, logprobs: TokenLogprobView[] | undefined, textOffset: number): object;
  finalChoice(finishReason: FinishReason): object;
}

export interface Generation {
  whole(opts: GenerateOptions): Promise<GenerateResult>;
  stream(opts: GenerateOptions): ChunkStream | Promise<ChunkStream>;
}

const encoder = new TextEncoder();

/** Caches single-token texts: log-prob responses name every token and its alternatives. */
const tokenTextCache = new WeakMap<ServingEngine, Map<number, string>>();

async function tokenText(engine: ServingEngine, token: number): Promise<string> {
  let cache = tokenTextCache.get(engine);
  if (!cache) tokenTextCache.set(engine, (cache = new Map()));
  let text = cache.get(token);
  if (text === undefined) {
    text = await engine.detokenize([token]);
    cache.set(token, text);
  }
  return text;
}

async function viewLogprob(engine: ServingEngine, lp: TokenLogprob, top: number): Promise<TokenLogprobView> {
  const token = await tokenText(engine, lp.token);
  const alternatives = await Promise.all(
    lp.top.slice(0, top).map(async ([id, logprob]) => {
      const t = await tokenText(engine, id);
      return { token: t, logprob, bytes: [...encoder.encode(t)] };
    }),
  );
  return { token, logprob: lp.logprob, bytes: [...encoder.encode(token)], top: alternatives };
}

function usageOf(promptTokens: number, completionTokens: number, cachedTokens?: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    ...(cachedTokens !== undefined ? { prompt_tokens_details: { cached_tokens: cachedTokens } } : {}),
  };
}

function isGenerateResult(v: unknown): v is GenerateResult {
  return typeof v === 'object' && v !== null && typeof (v as GenerateResult).promptTokens === 'number' && typeof (v as GenerateResult).finishReason === 'string';
}

/** Aborts when the client's connection closes before the response was fully written. */
function abortOnDisconnect(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort(new DOMException('The client closed the connection.', 'AbortError'));
  };
  res.once('close', onClose);
  return controller;
}

/** The client went away before the answer: nobody to send it to. */
function clientGone(reply: FastifyReply): FastifyReply {
  return reply.hijack();
}

export async function respond(
  ctx: ServerContext,
  reply: FastifyReply,
  req: CommonRequest,
  generation: Generation,
  shape: ResponseShape,
): Promise<unknown> {
  const engine = ctx.engine();
  const started = performance.now();
  const controller = abortOnDisconnect(reply);
  const opts: GenerateOptions = { ...req.options, signal: controller.signal };
  const id = `${shape.idPrefix}${randomUUID().replace(/-/g, '')}`;
  const created = Math.floor(Date.now() / 1000);
  const model = ctx.model.id;

  if (!req.stream) {
    let result: GenerateResult;
    try {
      result = await generation.whole(opts);
    } catch (e) {
      if (controller.signal.aborted && isAbort(e)) return clientGone(reply);
      throw e;
    }
    ctx.metrics.generationDuration.observe((performance.now() - started) / 1000);
    const logprobs =
      req.topLogprobs !== undefined && result.logprobs
        ? await Promise.all(result.logprobs.map((lp) => viewLogprob(engine, lp, req.topLogprobs!)))
        : undefined;
    return {
      id,
      object: shape.object,
      created,
      model,
      choices: [shape.choice(result.text, result.finishReason, logprobs)],
      usage: usageOf(result.promptTokens, result.tokensGenerated, result.cachedPromptTokens),
    };
  }

  let stream: ChunkStream;
  let iterator: AsyncIterator<StreamChunk, unknown>;
  let step: IteratorResult<StreamChunk, unknown>;
  try {
    stream = await generation.stream(opts);
    iterator = stream[Symbol.asyncIterator]();
    // Wait for the first token before sending headers, so that errors found when the request is
    // admitted (context overflow, full queue) still get their own HTTP status.
    step = await iterator.next();
  } catch (e) {
    if (controller.signal.aborted && isAbort(e)) return clientGone(reply);
    throw e;
  }

  if (!step.done) ctx.metrics.timeToFirstToken.observe((performance.now() - started) / 1000);
  reply.hijack();
  const sse = new SseWriter(reply.raw);
  sse.open();
  const chunk = (choice: object | undefined, usage?: Usage | null): object => ({
    id,
    object: shape.chunkObject,
    created,
    model,
    choices: choice ? [choice] : [],
    ...(req.includeUsage ? { usage: usage ?? null } : {}),
  });

  let generated = 0;
  let textOffset = 0;
  let pending: TokenLogprobView[] = [];
  let finished = false;
  try {
    const first = shape.firstChunkChoice();
    if (first) await sse.send(chunk(first));
    while (!step.done) {
      const c = step.value;
      generated++;
      if (req.topLogprobs !== undefined && c.logprob) pending.push(await viewLogprob(engine, c.logprob, req.topLogprobs));
      // A token that ends inside a multi-byte character has no text yet: it goes out with the next one.
      if (c.text !== '') {
        await sse.send(chunk(shape.deltaChoice(c.text, req.topLogprobs !== undefined ? pending : undefined, textOffset)));
        textOffset += c.text.length;
        pending = [];
      }
      if (sse.isClosed) break;
      step = await iterator.next();
    }
    if (sse.isClosed) return;
    if (pending.length > 0) await sse.send(chunk(shape.deltaChoice('', pending, textOffset)));
    const result = stream.result ? await stream.result() : isGenerateResult(step.value) ? step.value : undefined;
    const finishReason: FinishReason = result?.finishReason ?? (req.options.maxTokens !== undefined && generated >= req.options.maxTokens ? 'length' : 'stop');
    await sse.send(chunk(shape.finalChoice(finishReason)));
    if (req.includeUsage) await sse.send(chunk(undefined, usageOf(result?.promptTokens ?? 0, result?.tokensGenerated ?? generated, result?.cachedPromptTokens)));
    await sse.done();
    finished = true;
    ctx.metrics.generationDuration.observe((performance.now() - started) / 1000);
  } catch (e) {
    if (!(controller.signal.aborted && isAbort(e)) && !sse.isClosed) {
      // Headers are gone; the error travels as an event, as OpenAI's API does.
      const err = toApiError(e);
      if (err.status >= 500) reply.log.error({ err: e }, 'generation failed mid-stream');
      await sse.send(err.body());
      await sse.done();
    }
  } finally {
    if (!finished) {
      controller.abort(new DOMException('The response ended early.', 'AbortError'));
      // Lets the engine's generator run its cleanup (free the slot) if we stopped consuming it.
      await iterator.return?.(undefined)?.catch(() => undefined);
      sse.end();
    }
  }
  return undefined;
}
