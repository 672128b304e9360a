// Checks of caller-supplied options (they may come straight from JSON): each bad value is an
// InvalidRequestError naming the option, what it got and what it accepts.
import { InvalidRequestError } from '../errors.ts';
import type { ChatMessage, EngineOptions, GenerateOptions, Prompt } from './types.ts';

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
};

function bad(name: string, v: unknown, want: string): never {
  throw new InvalidRequestError(`${name} must be ${want} (got ${show(v)})`);
}

function int(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(name, v, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`);
  }
  return v;
}

function num(name: string, v: unknown, min: number, max: number, minExclusive = false): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (minExclusive && v === min)) {
    const lo = minExclusive ? `> ${min}` : `>= ${min}`;
    bad(name, v, max === Infinity ? `a number ${lo}` : `a number ${lo} and <= ${max}`);
  }
  return v;
}

function bool(name: string, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') bad(name, v, 'true or false');
  return v;
}

export function validateEngineOptions(o: EngineOptions): void {
  if (typeof o !== 'object' || o === null) bad('engine options', o, 'an object');
  int('contextLength', o.contextLength, 1);
  int('parallel', o.parallel, 1, 1024);
  int('maxQueue', o.maxQueue, 0);
  int('prefillChunk', o.prefillChunk, 1);
  bool('promptCache', o.promptCache);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') bad('onProgress', o.onProgress, 'a function');
  const b = o.backend;
  if (b !== undefined && typeof b !== 'object' && !['cpu', 'webgpu', 'hip', 'auto'].includes(b as string)) {
    bad('backend', b, 'one of cpu, webgpu, hip, auto (or a Backend)');
  }
}

export function validatePrompt(p: unknown, vocabSize: number): Prompt {
  if (typeof p === 'string') return p;
  if (Array.isArray(p)) {
    p.forEach((t, i) => {
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocabSize) {
        bad(`prompt[${i}]`, t, `a token id from 0 to ${vocabSize - 1}`);
      }
    });
    return p as number[];
  }
  return bad('prompt', p, 'a string or an array of token ids');
}

/** Options with their values checked; `stop` normalized to an array. */
export interface CheckedGenerateOptions extends Omit<GenerateOptions, 'stop'> {
  stop: string[];
}

export function validateGenerateOptions(o: GenerateOptions | undefined): CheckedGenerateOptions {
  if (o === undefined) return { stop: [] };
  if (typeof o !== 'object' || o === null) bad('options', o, 'an object');
  int('maxTokens', o.maxTokens, 0);
  num('temperature', o.temperature, 0, Infinity);
  int('topK', o.topK, 0);
  num('topP', o.topP, 0, 1);
  num('minP', o.minP, 0, 1);
  num('repeatPenalty', o.repeatPenalty, 0, Infinity, true);
  int('penaltyLastN', o.penaltyLastN, -1);
  num('presencePenalty', o.presencePenalty, -Infinity, Infinity);
  num('frequencyPenalty', o.frequencyPenalty, -Infinity, Infinity);
  if (o.seed !== undefined && (typeof o.seed !== 'number' || !Number.isSafeInteger(o.seed))) bad('seed', o.seed, 'an integer');
  int('logprobs', o.logprobs, 0, 100);
  bool('addSpecial', o.addSpecial);
  bool('parseSpecial', o.parseSpecial);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) bad('signal', o.signal, 'an AbortSignal');
  let stop: string[] = [];
  if (typeof o.stop === 'string') stop = [o.stop];
  else if (Array.isArray(o.stop)) {
    o.stop.forEach((s, i) => {
      if (typeof s !== 'string') bad(`stop[${i}]`, s, 'a string');
    });
    stop = [...o.stop];
  } else if (o.stop !== undefined) bad('stop', o.stop, 'a string or an array of strings');
  // llama.cpp's convention: seed -1 asks for a random seed.
  const seed = o.seed === -1 ? undefined : o.seed;
  return { ...o, seed, stop };
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

export function validateMessages(m: unknown): ChatMessage[] {
  if (!Array.isArray(m)) bad('messages', m, 'an array of { role, content }');
  if (m.length === 0) bad('messages', m, 'a non-empty array');
  m.forEach((x: unknown, i) => {
    if (typeof x !== 'object' || x === null) bad(`messages[${i}]`, x, 'an object { role, content }');
    const { role, content } = x as Record<string, unknown>;
    if (typeof role !== 'string' || !ROLES.has(role)) bad(`messages[${i}].role`, role, 'system, user, assistant or tool');
    if (typeof content !== 'string') bad(`messages[${i}].content`, content, 'a string');
  });
  return m as ChatMessage[];
}
