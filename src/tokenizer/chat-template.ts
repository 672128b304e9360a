// Chat prompts from a model's tokenizer.chat_template (Jinja, rendered with @huggingface/jinja) with
// the variables Hugging Face and llama.cpp provide: messages, add_generation_prompt, bos_token,
// eos_token, tools, raise_exception() and strftime_now().
//
// Two fallbacks, both documented here because callers see their effect:
// - Templates that reject a system message (Gemma's raise "System role not supported") get the
//   system text folded into the first user message, "<system>\n\n<user>", as llama.cpp's template
//   polyfills do.
// - A model with no template at all (stories260K) gets a plain transcript, one line per message,
//     "System: ...\nUser: ...\nAssistant: ...\n" and, with addGenerationPrompt, a final "Assistant:".
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import type { ChatMessage } from '../engine/types.ts';
import { ChatTemplateError } from '../errors.ts';
import type { GgufValue } from '../gguf/types.ts';

export interface RenderChatOptions {
  /** End with the header of an assistant turn, so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
  /** Tool definitions (OpenAI format) for templates that render them. */
  tools?: unknown[];
  /** A Jinja template to use instead of the model's tokenizer.chat_template. */
  template?: string;
}

const ROLE_LABEL: Record<ChatMessage['role'], string> = {
  system: 'System',
  user: 'User',
  assistant: 'Assistant',
  tool: 'Tool',
};

/** The transcript used when the model has no chat template (see the file comment). */
export function renderPlainChat(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  let out = '';
  for (const m of messages) out += `${ROLE_LABEL[m.role]}: ${m.content}\n`;
  if (addGenerationPrompt) out += 'Assistant:';
  return out;
}

/** The model's chat template, or undefined when the metadata has none. */
export function chatTemplateOf(metadata: ReadonlyMap<string, GgufValue>): string | undefined {
  const t = metadata.get('tokenizer.chat_template');
  return typeof t === 'string' && t.length > 0 ? t : undefined;
}

function tokenString(metadata: ReadonlyMap<string, GgufValue>, key: string): string {
  const id = metadata.get(key);
  const tokens = metadata.get('tokenizer.ggml.tokens');
  if ((typeof id !== 'number' && typeof id !== 'bigint') || !Array.isArray(tokens)) return '';
  const t = tokens[Number(id)];
  return typeof t === 'string' ? t : '';
}

function strftimeNow(format: string): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const map: Record<string, string> = {
    Y: String(d.getFullYear()),
    m: pad(d.getMonth() + 1),
    d: pad(d.getDate()),
    H: pad(d.getHours()),
    M: pad(d.getMinutes()),
    S: pad(d.getSeconds()),
    B: months[d.getMonth()]!,
    b: months[d.getMonth()]!.slice(0, 3),
    A: days[d.getDay()]!,
    a: days[d.getDay()]!.slice(0, 3),
    '%': '%',
  };
  return format.replace(/%([YmdHMSBbAa%])/g, (_, c: string) => map[c]!);
}

class TemplateRaise extends Error {}

function range(start: number, stop?: number, step = 1): number[] {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  const out: number[] = [];
  if (step === 0) throw new TemplateRaise('range() step must not be zero');
  for (let i = from; step > 0 ? i < to : i > to; i += step) out.push(i);
  return out;
}

/**
 * Template.render with our own globals: the library declares raise_exception itself (throwing a
 * plain Error), and we need to tell a template's deliberate raise from a rendering failure.
 */
function renderWith(template: Template, context: Record<string, unknown>): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false, true: true, none: null, False: false, True: true, None: null,
    range,
    raise_exception: (msg: unknown) => {
      throw new TemplateRaise(String(msg));
    },
    strftime_now: strftimeNow,
    ...context,
  };
  for (const [k, v] of Object.entries(globals)) env.set(k, v);
  return String(new Interpreter(env).run(template.parsed).value);
}

/** Folds system messages into the first user message, for templates that have no system role. */
function foldSystem(messages: readonly ChatMessage[]): ChatMessage[] {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const rest = messages.filter((m) => m.role !== 'system');
  if (system.length === 0) return [...rest];
  const i = rest.findIndex((m) => m.role === 'user');
  const sys = system.join('\n\n');
  if (i < 0) return [{ role: 'user', content: sys }, ...rest];
  rest[i] = { role: 'user', content: `${sys}\n\n${rest[i]!.content}` };
  return rest;
}

/**
 * Renders a conversation into the prompt text the model expects. Uses opts.template, else the
 * model's tokenizer.chat_template, else the plain transcript. Throws ChatTemplateError when the
 * template does not parse or raises.
 */
export function renderChat(
  metadata: ReadonlyMap<string, GgufValue>,
  messages: ChatMessage[],
  opts: RenderChatOptions = {},
): string {
  const addGenerationPrompt = opts.addGenerationPrompt ?? true;
  const source = opts.template ?? chatTemplateOf(metadata);
  if (source === undefined) return renderPlainChat(messages, addGenerationPrompt);

  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new ChatTemplateError(`the chat template does not parse (${(e as Error).message}): fix it or pass another template`, { cause: e });
  }
  const context: Record<string, unknown> = {
    messages: messages.map((m) => ({ ...m })),
    add_generation_prompt: addGenerationPrompt,
    bos_token: tokenString(metadata, 'tokenizer.ggml.bos_token_id'),
    eos_token: tokenString(metadata, 'tokenizer.ggml.eos_token_id'),
  };
  if (opts.tools !== undefined) context.tools = opts.tools;
  // FireFunction's template reads two variables of its own, as llama.cpp supplies them.
  if (source.includes('functools[')) {
    context.functions = JSON.stringify(opts.tools ?? [], null, 2);
    context.datetime = new Date().toUTCString();
  }
  // Retries, in order, for templates written for one calling convention: tool-use templates that
  // loop over `tools` without checking it (rendered with an empty list when the caller passed none),
  // then templates without a system role (system text folded into the first user message).
  const attempts: Record<string, unknown>[] = [context];
  if (opts.tools === undefined) attempts.push({ ...context, tools: [] });
  if (messages.some((m) => m.role === 'system')) {
    for (const a of [...attempts]) attempts.push({ ...a, messages: foldSystem(messages) });
  }
  let first: unknown;
  for (const a of attempts) {
    try {
      return renderWith(template, a);
    } catch (e) {
      first ??= e;
    }
  }
  {
    const e = first as Error;
    const what = e instanceof TemplateRaise ? `raised "${e.message}"` : `failed (${(e as Error).message})`;
    throw new ChatTemplateError(`the chat template ${what} for this conversation: check the message roles and order, or pass another template`, { cause: e });
  }
}
