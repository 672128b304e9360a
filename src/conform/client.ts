// The other server's side of `rocforge conform`: what kind of server it is, its tokenization, and
// its greedy continuation of a prompt with log-probs, whatever shape it answers in (OpenAI's legacy
// completions, llama-server's /completion, the chat-style `logprobs.content` list), streamed or not.
// Every failure is a ServerRequestError whose message says what the server did: the caller reports
// it for that case and goes on.
import { RocforgeError } from '../errors.ts';
import { readSse } from '../server/sse-reader.ts';
import type { ServerAlternative, ServerCompletion, ServerKind, ServerStep } from './types.ts';

export class ServerRequestError extends RocforgeError {}

export interface ClientOptions {
  readonly url: string;
  readonly apiKey?: string;
  /** The "model" field of OpenAI requests. */
  readonly servedModel?: string;
  /** Per request, in ms. */
  readonly timeoutMs: number;
}

export interface CompletionRequest {
  readonly text: string;
  /** Our tokenizer's ids (with BOS): sent to llama-server, whose /tokenize was checked against them. */
  readonly ids: readonly number[];
  readonly steps: number;
  readonly topK: number;
  /** Send the text as one user message to /v1/chat/completions (the server applies its chat template). */
  readonly chat?: boolean;
}

export class ConformClient {
  private readonly base: string;
  private servedModel: string | undefined;

  constructor(private readonly opts: ClientOptions) {
    this.servedModel = opts.servedModel;
    this.base = opts.url.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  /** llama-server answers GET /props with its generation settings; anything else is treated as OpenAI-compatible. */
  async detect(): Promise<ServerKind> {
    try {
      const res = await this.fetch('GET', '/props');
      if (!res.ok) return 'openai';
      const body = (await res.json()) as Record<string, unknown>;
      return body !== null && typeof body === 'object' && ('default_generation_settings' in body || 'build_info' in body) ? 'llama-server' : 'openai';
    } catch (e) {
      if (e instanceof ServerRequestError && /timed out|cannot reach/.test(e.message)) throw e;
      return 'openai';
    }
  }

  /** The "model" sent with OpenAI requests: --served-model, else the server's first listed model. */
  get model(): string | undefined {
    return this.servedModel;
  }

  /** The first id of GET /v1/models: vLLM refuses requests without the served model's name. */
  async defaultModel(): Promise<string | undefined> {
    try {
      const res = await this.fetch('GET', '/v1/models');
      if (!res.ok) return undefined;
      const id = ((await res.json()) as { data?: Array<{ id?: unknown }> }).data?.[0]?.id;
      return typeof id === 'string' ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** llama-server's rendering of one user message through its chat template (/apply-template). */
  async applyTemplate(text: string): Promise<string> {
    const body = await this.postJson('/apply-template', { messages: [{ role: 'user', content: text }] });
    const prompt = (body as { prompt?: unknown }).prompt;
    if (typeof prompt !== 'string') throw new ServerRequestError('/apply-template answered without a "prompt" string');
    return prompt;
  }

  /** The server's ids for a text (llama-server's /tokenize, special tokens added as for a prompt). */
  async tokenize(text: string): Promise<number[]> {
    const body = await this.postJson('/tokenize', { content: text, add_special: true });
    const tokens = (body as { tokens?: unknown }).tokens;
    if (!Array.isArray(tokens) || !tokens.every((t) => Number.isInteger(t))) throw new ServerRequestError(`/tokenize answered without a "tokens" array of ids`);
    return tokens as number[];
  }

  async complete(kind: ServerKind, req: CompletionRequest): Promise<ServerCompletion> {
    if (kind === 'llama-server' && !req.chat) {
      const body = { prompt: [...req.ids], n_predict: req.steps, temperature: 0, n_probs: req.topK, return_tokens: true, cache_prompt: false, seed: 0 };
      const r = await this.postJson('/completion', body);
      return { ...parseLlamaServer(r), endpoint: '/completion', streamed: false };
    }
    const path = req.chat ? '/v1/chat/completions' : '/v1/completions';
    const body: Record<string, unknown> = req.chat
      ? { messages: [{ role: 'user', content: req.text }], max_tokens: req.steps, temperature: 0, logprobs: true, top_logprobs: req.topK, seed: 0 }
      : { prompt: req.text, max_tokens: req.steps, temperature: 0, logprobs: req.topK, seed: 0 };
    this.servedModel ??= await this.defaultModel();
    if (this.servedModel !== undefined) body.model = this.servedModel;
    const first = await this.fetch('POST', path, { ...body, stream: false });
    const type = first.headers.get('content-type') ?? '';
    if (first.ok && type.includes('application/json')) return { ...parseOpenAi(await readJson(first, path), path), endpoint: path, streamed: false };
    if (first.ok && type.includes('text/event-stream')) return { ...(await parseStream(first, path)), endpoint: path, streamed: true };
    if (first.status >= 500 || first.status === 401 || first.status === 404) throw await statusError(first, path);
    // A 4xx for a non-streaming request: some servers only stream.
    const detail = await statusError(first, path);
    const res = await this.fetch('POST', path, { ...body, stream: true });
    if (!res.ok) throw new ServerRequestError(`${detail.message}; streaming too: ${(await statusError(res, path)).message}`);
    return { ...(await parseStream(res, path)), endpoint: path, streamed: true };
  }

  private async postJson(path: string, body: unknown): Promise<unknown> {
    const res = await this.fetch('POST', path, body);
    if (!res.ok) throw await statusError(res, path);
    return readJson(res, path);
  }

  private async fetch(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.apiKey !== undefined) headers.authorization = `Bearer ${this.opts.apiKey}`;
    try {
      return await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.opts.timeoutMs) });
    } catch (e) {
      const err = e as Error;
      if (err.name === 'TimeoutError') throw new ServerRequestError(`${method} ${path} timed out after ${this.opts.timeoutMs / 1000} s: raise --timeout or check the server`);
      const c = err.cause as { code?: string; message?: string } | undefined;
      const cause = c?.code ?? c?.message ?? err.message;
      throw new ServerRequestError(`cannot reach ${this.base}${path} (${cause}): check --url and that the server is up`);
    }
  }
}

async function readJson(res: Response, path: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ServerRequestError(`${path} answered ${res.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

async function statusError(res: Response, path: string): Promise<ServerRequestError> {
  let detail = '';
  try {
    const text = await res.text();
    try {
      const b = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
      const m = typeof b.error === 'string' ? b.error : (b.error?.message ?? b.message);
      detail = typeof m === 'string' ? m : text;
    } catch {
      detail = text;
    }
  } catch {
    // The body could not be read: the status says enough.
  }
  detail = detail.replace(/\s+/g, ' ').trim().slice(0, 160);
  return new ServerRequestError(`${path} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** llama-server's /completion: completion_probabilities with ids, `tokens` (return_tokens) for every id. */
export function parseLlamaServer(body: unknown): Omit<ServerCompletion, 'endpoint' | 'streamed'> {
  const b = body as { completion_probabilities?: unknown; tokens?: unknown; tokens_evaluated?: unknown };
  const probs = Array.isArray(b.completion_probabilities) ? b.completion_probabilities : [];
  const listed = probs.map(contentItem);
  if (listed.length === 0) throw new ServerRequestError('/completion answered without completion_probabilities: the server ignored n_probs');
  const ids = Array.isArray(b.tokens) && b.tokens.every((t) => Number.isInteger(t)) ? (b.tokens as number[]) : undefined;
  let steps: ServerStep[] = listed;
  if (ids && ids.length >= listed.length) {
    // llama-server may leave out the probabilities of a token that ends in a cut UTF-8 character:
    // align the listed steps with the ids, those without an entry keep their id only.
    steps = [];
    let next = 0;
    for (const id of ids) {
      const s = listed[next];
      if (s && s.id === id) {
        steps.push(s);
        next++;
      } else steps.push({ id, text: '', top: [] });
    }
    if (next !== listed.length) steps = listed;
  }
  return { steps, promptTokenCount: num(b.tokens_evaluated) };
}

/** One `logprobs.content` item (chat-style; llama-server's completion_probabilities). */
function contentItem(item: unknown): ServerStep {
  const o = (item ?? {}) as { id?: unknown; token?: unknown; logprob?: unknown; top_logprobs?: unknown };
  const top: ServerAlternative[] = Array.isArray(o.top_logprobs)
    ? o.top_logprobs.flatMap((t: { id?: unknown; token?: unknown; logprob?: unknown }) => {
        const lp = num(t.logprob);
        return lp === undefined || typeof t.token !== 'string' ? [] : [{ id: Number.isInteger(t.id) ? (t.id as number) : undefined, text: t.token, logprob: lp }];
      })
    : [];
  return { id: Number.isInteger(o.id) ? (o.id as number) : undefined, text: typeof o.token === 'string' ? o.token : '', logprob: num(o.logprob), top };
}

/** OpenAI's legacy completions: parallel arrays of texts, log-probs and {text: log-prob} maps. */
function legacySteps(lp: unknown): ServerStep[] | undefined {
  const l = lp as { tokens?: unknown; token_logprobs?: unknown; top_logprobs?: unknown; content?: unknown } | null;
  if (!l || typeof l !== 'object') return undefined;
  if (Array.isArray(l.content)) return l.content.map(contentItem);
  if (!Array.isArray(l.tokens)) return undefined;
  const lps = Array.isArray(l.token_logprobs) ? l.token_logprobs : [];
  const tops = Array.isArray(l.top_logprobs) ? l.top_logprobs : [];
  return l.tokens.map((t, i) => {
    const map = (tops[i] ?? {}) as Record<string, unknown>;
    const top = Object.entries(map).flatMap(([text, v]) => {
      const x = num(v);
      return x === undefined ? [] : [{ text, logprob: x }];
    });
    top.sort((a, b) => b.logprob - a.logprob);
    return { text: typeof t === 'string' ? t : String(t), logprob: num(lps[i]), top };
  });
}

export function parseOpenAi(body: unknown, path = '/v1/completions'): Omit<ServerCompletion, 'endpoint' | 'streamed'> {
  const b = body as { choices?: Array<{ logprobs?: unknown; text?: unknown }>; usage?: { prompt_tokens?: unknown } };
  const choice = Array.isArray(b.choices) ? b.choices[0] : undefined;
  if (!choice) throw new ServerRequestError(`${path} answered without choices`);
  const steps = legacySteps(choice.logprobs);
  if (!steps || steps.length === 0) throw new ServerRequestError(`${path} answered without log-probs: the server ignored "logprobs"`);
  return { steps, promptTokenCount: num(b.usage?.prompt_tokens) };
}

/** A streamed completion: each chunk's log-probs in order, usage from the chunk that has it. */
async function parseStream(res: Response, path: string): Promise<Omit<ServerCompletion, 'endpoint' | 'streamed'>> {
  if (!res.body) throw new ServerRequestError(`${path} answered a stream without a body`);
  const steps: ServerStep[] = [];
  let promptTokenCount: number | undefined;
  for await (const e of readSse(res.body)) {
    if (e.data === '[DONE]') break;
    let chunk: { choices?: Array<{ logprobs?: unknown }>; usage?: { prompt_tokens?: unknown } };
    try {
      chunk = JSON.parse(e.data) as typeof chunk;
    } catch {
      throw new ServerRequestError(`a streamed chunk is not JSON: ${JSON.stringify(e.data.slice(0, 80))}`);
    }
    promptTokenCount = num(chunk.usage?.prompt_tokens) ?? promptTokenCount;
    const s = legacySteps(chunk.choices?.[0]?.logprobs);
    if (s) steps.push(...s);
  }
  if (steps.length === 0) throw new ServerRequestError(`${path} streamed no log-probs: the server ignored "logprobs"`);
  return { steps, promptTokenCount };
}
