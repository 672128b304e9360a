// Request validation: turns an untrusted JSON body into engine options, or a 400 that names the
// offending parameter. Hand-written (not a JSON schema) so every message reads like OpenAI's.
import type { ChatMessage, GenerateOptions, Prompt } from '../engine/types.ts';
import { invalidRequest, unsupported, type ApiError } from './errors.ts';

/** Engine options the request asks for; the route adds the abort signal. */
export type RequestOptions = Omit<GenerateOptions, 'signal'>;

export interface CommonRequest {
  model: string | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** Top alternatives per token when log-probs were asked for, else undefined. */
  topLogprobs: number | undefined;
  options: RequestOptions;
}

export interface ChatRequest extends CommonRequest {
  messages: ChatMessage[];
}

export interface CompletionRequest extends CommonRequest {
  prompt: Prompt;
}

export const MAX_STOP_SEQUENCES = 16;
export const MAX_TOP_LOGPROBS = 20;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function wrongType(param: string, expected: string, got: unknown): ApiError {
  return invalidRequest(`Invalid type for '${param}': expected ${expected}, but got ${describe(got)} instead.`, param, 'invalid_type');
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads optional, typed fields of one object; `null` counts as absent, as in OpenAI's API. */
class Fields {
  constructor(private readonly obj: Obj, private readonly prefix = '') {}

  name(key: string): string {
    return this.prefix + key;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): Json | undefined {
    const v = this.obj[key];
    return v === null ? undefined : v;
  }

  number(key: string, min: number, max: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number') throw wrongType(this.name(key), 'a number', v);
    if (v < min || v > max) {
      throw invalidRequest(`Invalid value for '${this.name(key)}': ${v} is outside the range [${min}, ${max}].`, this.name(key), 'invalid_value');
    }
    return v;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw wrongType(this.name(key), 'an integer', v);
    if (v < min || v > max) {
      throw invalidRequest(`Invalid value for '${this.name(key)}': ${v} is outside the range [${min}, ${max}].`, this.name(key), 'invalid_value');
    }
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw wrongType(this.name(key), 'a boolean', v);
    return v;
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw wrongType(this.name(key), 'a string', v);
    return v;
  }

  object(key: string): Fields | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isObj(v)) throw wrongType(this.name(key), 'an object', v);
    return new Fields(v, `${this.name(key)}.`);
  }
}

/** A number in (0, max]: 0 would divide logits by zero. */
function positive(f: Fields, key: string, max: number): number | undefined {
  const v = f.number(key, 0, max);
  if (v === 0) throw invalidRequest(`Invalid value for '${key}': it must be greater than 0 (1 disables it).`, key, 'invalid_value');
  return v;
}

function parseStop(f: Fields): string[] | undefined {
  const v = f.raw('stop');
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw wrongType('stop', 'a string or an array of strings', v);
  if (list.length > MAX_STOP_SEQUENCES) {
    throw invalidRequest(`Invalid value for 'stop': at most ${MAX_STOP_SEQUENCES} stop sequences are supported, got ${list.length}.`, 'stop', 'invalid_value');
  }
  return list.map((s, i) => {
    if (typeof s !== 'string') throw wrongType(`stop[${i}]`, 'a string', s);
    if (s.length === 0) throw invalidRequest(`Invalid value for 'stop[${i}]': stop sequences must not be empty.`, `stop[${i}]`, 'invalid_value');
    return s;
  });
}

/** Parameters that would change the output in ways this server does not implement get a 400, not silence. */
function rejectUnsupported(f: Fields, kind: 'chat' | 'completion'): void {
  const n = f.integer('n', 1, Number.MAX_SAFE_INTEGER);
  if (n !== undefined && n !== 1) throw unsupported('n', `Unsupported value for 'n': only n = 1 is supported (got ${n}). Send ${n} requests instead.`);
  const bestOf = f.integer('best_of', 1, Number.MAX_SAFE_INTEGER);
  if (bestOf !== undefined && bestOf !== 1) throw unsupported('best_of', `Unsupported value for 'best_of': only 1 is supported (got ${bestOf}).`);
  const bias = f.raw('logit_bias');
  if (bias !== undefined) {
    if (!isObj(bias)) throw wrongType('logit_bias', 'an object', bias);
    if (Object.keys(bias).length > 0) throw unsupported('logit_bias', "Unsupported parameter 'logit_bias': this server does not implement logit biases.");
  }
  for (const key of ['tools', 'functions'] as const) {
    const v = f.raw(key);
    if (v === undefined) continue;
    if (!Array.isArray(v)) throw wrongType(key, 'an array', v);
    if (v.length > 0) throw unsupported(key, `Unsupported parameter '${key}': this server does not implement tool or function calling.`);
  }
  const choice = f.raw('tool_choice') ?? f.raw('function_call');
  if (choice !== undefined && choice !== 'none' && choice !== 'auto') {
    throw unsupported('tool_choice', "Unsupported value for 'tool_choice': only 'none' and 'auto' (with no tools) are supported.");
  }
  const format = f.object('response_format');
  if (format) {
    const type = format.string('type');
    if (type !== undefined && type !== 'text') {
      throw unsupported('response_format.type', `Unsupported value for 'response_format.type': only 'text' is supported (got '${type}').`);
    }
  }
  if (kind === 'completion') {
    if (f.boolean('echo')) throw unsupported('echo', "Unsupported value for 'echo': echoing the prompt is not implemented.");
    const suffix = f.string('suffix');
    if (suffix) throw unsupported('suffix', "Unsupported parameter 'suffix': insertion (fill-in-the-middle) is not implemented.");
  }
}

function parseCommon(body: unknown, kind: 'chat' | 'completion'): { f: Fields; common: Omit<CommonRequest, 'topLogprobs'> } {
  if (!isObj(body)) throw invalidRequest(`The request body must be a JSON object, but got ${describe(body)}.`, null, 'invalid_type');
  const f = new Fields(body);
  rejectUnsupported(f, kind);

  const maxTokens = f.integer('max_completion_tokens', 0, Number.MAX_SAFE_INTEGER) ?? f.integer('max_tokens', 0, Number.MAX_SAFE_INTEGER);
  const options: RequestOptions = {
    maxTokens,
    temperature: f.number('temperature', 0, 2),
    topP: f.number('top_p', 0, 1),
    topK: f.integer('top_k', 0, Number.MAX_SAFE_INTEGER),
    minP: f.number('min_p', 0, 1),
    repeatPenalty: positive(f, 'repeat_penalty', 10),
    presencePenalty: f.number('presence_penalty', -2, 2),
    frequencyPenalty: f.number('frequency_penalty', -2, 2),
    seed: f.integer('seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    stop: parseStop(f),
  };
  // Leave unset fields out so the engine's own defaults apply.
  for (const k of Object.keys(options) as Array<keyof RequestOptions>) if (options[k] === undefined) delete options[k];

  const stream = f.boolean('stream') ?? false;
  const streamOptions = f.object('stream_options');
  const includeUsage = stream && (streamOptions?.boolean('include_usage') ?? false);
  return { f, common: { model: f.string('model'), stream, includeUsage, options } };
}

function parseContent(v: Json | undefined, param: string, role: string): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) throw invalidRequest(`Missing required parameter: '${param}' (a ${role} message needs content).`, param, 'missing_required_parameter');
  if (!Array.isArray(v)) throw wrongType(param, 'a string or an array of content parts', v);
  return v
    .map((part, i) => {
      const p = `${param}[${i}]`;
      if (!isObj(part)) throw wrongType(p, 'an object', part);
      if (part.type !== 'text') {
        throw unsupported(`${p}.type`, `Unsupported content part type '${String(part.type)}' in '${p}': this server accepts text parts only.`);
      }
      if (typeof part.text !== 'string') throw wrongType(`${p}.text`, 'a string', part.text);
      return part.text;
    })
    .join('');
}

const ROLES: Record<string, ChatMessage['role']> = {
  system: 'system',
  // OpenAI's newer name for system instructions.
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
};

export function parseChatRequest(body: unknown): ChatRequest {
  const { f, common } = parseCommon(body, 'chat');
  const raw = f.raw('messages');
  if (raw === undefined) throw invalidRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(raw)) throw wrongType('messages', 'an array of messages', raw);
  if (raw.length === 0) throw invalidRequest("Invalid value for 'messages': the array is empty; send at least one message.", 'messages', 'empty_array');
  const messages = raw.map((m, i): ChatMessage => {
    const p = `messages[${i}]`;
    if (!isObj(m)) throw wrongType(p, 'an object', m);
    const role = m.role;
    if (typeof role !== 'string') {
      if (role === undefined || role === null) throw invalidRequest(`Missing required parameter: '${p}.role'.`, `${p}.role`, 'missing_required_parameter');
      throw wrongType(`${p}.role`, 'a string', role);
    }
    const mapped = ROLES[role];
    if (!Object.hasOwn(ROLES, role) || mapped === undefined) {
      throw invalidRequest(`Invalid value for '${p}.role': '${role}' is not one of system, developer, user, assistant, tool.`, `${p}.role`, 'invalid_value');
    }
    return { role: mapped, content: parseContent(m.content, `${p}.content`, role) };
  });

  let topLogprobs: number | undefined;
  const logprobs = f.boolean('logprobs') ?? false;
  const top = f.integer('top_logprobs', 0, MAX_TOP_LOGPROBS);
  if (top !== undefined && !logprobs) {
    throw invalidRequest("Invalid value for 'top_logprobs': it requires 'logprobs' to be true.", 'top_logprobs', 'invalid_value');
  }
  if (logprobs) topLogprobs = top ?? 0;
  return { ...common, messages, topLogprobs, options: withLogprobs(common.options, topLogprobs) };
}

function parsePrompt(v: Json | undefined): Prompt {
  if (v === undefined) throw invalidRequest("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) throw wrongType('prompt', 'a string, an array of strings or an array of token ids', v);
  if (v.length === 0) throw invalidRequest("Invalid value for 'prompt': the array is empty.", 'prompt', 'empty_array');
  // A batch of several prompts would need n > 1 choices; a batch of one is just that prompt.
  if (typeof v[0] === 'string' || Array.isArray(v[0])) {
    if (v.length > 1) throw unsupported('prompt', `Unsupported value for 'prompt': batches of prompts are not supported (got ${v.length}); send one prompt per request.`);
    return parsePrompt(v[0]);
  }
  return v.map((t, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0x7fffffff) {
      throw invalidRequest(`Invalid value for 'prompt[${i}]': token ids are non-negative integers, got ${JSON.stringify(t)}.`, `prompt[${i}]`, 'invalid_value');
    }
    return t;
  });
}

export function parseCompletionRequest(body: unknown): CompletionRequest {
  const { f, common } = parseCommon(body, 'completion');
  const prompt = parsePrompt(f.raw('prompt'));
  const topLogprobs = f.integer('logprobs', 0, MAX_TOP_LOGPROBS);
  return { ...common, prompt, topLogprobs, options: withLogprobs(common.options, topLogprobs) };
}

/** The engine reports the sampled token's log-prob alongside its top-N; ask for at least one. */
function withLogprobs(options: RequestOptions, top: number | undefined): RequestOptions {
  return top === undefined ? options : { ...options, logprobs: Math.max(1, top) };
}
