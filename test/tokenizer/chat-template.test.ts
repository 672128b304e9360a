// renderChat: real chat templates from public models, the system-role and tools fallbacks, the
// plain transcript for template-less models, overrides, and errors.
import { readFileSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/engine/types.ts';
import { ChatTemplateError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import type { GgufValue } from '../../src/gguf/types.ts';
import { renderChat } from '../../src/tokenizer/chat-template.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'What is 2+2?' },
];

/** Per template family: the user and assistant turn markers, and how the generation prompt ends. */
const MARKERS: Array<[prefix: string, user: string, assistant: string, generationPromptEnd: RegExp]> = [
  ['CohereForAI', '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>', '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>', /<\|CHATBOT_TOKEN\|>[^]*$/],
  ['NousResearch', '<|im_start|>user\n', '<|im_start|>assistant\n', /<\|im_start\|>assistant\n$/],
  ['Qwen', '<|im_start|>user\n', '<|im_start|>assistant\n', /<\|im_start\|>assistant\n$/],
  ['deepseek-ai', '<｜User｜>', '<｜Assistant｜>', /<｜Assistant｜>(<think>\n)?$/],
  ['llama-cpp-deepseek-r1', '<｜User｜>', '<｜Assistant｜>', /<｜Assistant｜>(<think>\n)?$/],
  ['fireworks-ai', '<|start_header_id|>user<|end_header_id|>', '<|start_header_id|>assistant<|end_header_id|>', /assistant<\|end_header_id\|>\n\n$/],
  ['meetkai', '<|start_header_id|>user<|end_header_id|>', '<|start_header_id|>assistant<|end_header_id|>', /assistant<\|end_header_id\|>\n\n(>>>)?$/],
  ['meta-llama', '<|start_header_id|>user<|end_header_id|>', '<|start_header_id|>assistant<|end_header_id|>', /assistant<\|end_header_id\|>\n\n$/],
  ['google-gemma', '<start_of_turn>user\n', '<start_of_turn>model\n', /<start_of_turn>model\n$/],
  ['microsoft-Phi', '<|user|>\n', '<|assistant|>\n', /<\|assistant\|>\n$/],
  ['mistralai', '[INST]', '[/INST]', /\[\/INST\]$/],
];

const BOS_EOS = new Map<string, GgufValue>([
  ['tokenizer.ggml.tokens', ['<unk>', '<s>', '</s>']],
  ['tokenizer.ggml.bos_token_id', 1],
  ['tokenizer.ggml.eos_token_id', 2],
]);

const skip = missingShared('templates');

describe.skipIf(skip !== undefined)('renderChat on real templates', () => {
  const files = skip ? [] : readdirSync(sharedPath('templates')).filter((f) => f.endsWith('.jinja'));

  it('has a marker entry for every shared template', () => {
    expect(files.length).toBeGreaterThanOrEqual(17);
    for (const f of files) expect(MARKERS.some(([p]) => f.startsWith(p))).toBe(true);
  });

  for (const file of files) {
    it(`${file}: renders system + user + assistant + user with its role markers`, () => {
      const [, user, assistant, end] = MARKERS.find(([p]) => file.startsWith(p))!;
      const template = readFileSync(sharedPath('templates', file), 'utf8');
      const out = renderChat(BOS_EOS, CONVERSATION, { template, addGenerationPrompt: true });
      // Every message's text is there, in order.
      let at = 0;
      for (const m of CONVERSATION) {
        const i = out.indexOf(m.content, m.role === 'system' ? 0 : at);
        expect(i, `${m.role} content in ${file}`).toBeGreaterThanOrEqual(0);
        if (m.role !== 'system') at = i + m.content.length;
      }
      expect(out.split(user).length - 1).toBeGreaterThanOrEqual(2);
      expect(out).toContain(assistant);
      expect(out).toMatch(end);
      // Templates that read add_generation_prompt end differently without it (some always open a turn).
      const closed = renderChat(BOS_EOS, CONVERSATION, { template, addGenerationPrompt: false });
      if (/if\s+add_generation_prompt/.test(template)) expect(closed).not.toBe(out);
    });
  }

  it('passes tools to templates that render them', () => {
    const template = readFileSync(sharedPath('templates', 'Qwen-Qwen2.5-7B-Instruct.jinja'), 'utf8');
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: {} } } }];
    const out = renderChat(BOS_EOS, CONVERSATION.slice(1, 2), { template, tools });
    expect(out).toContain('get_weather');
    expect(out).toContain('<tools>');
  });

  it('folds the system message into the first user turn for templates without a system role (Gemma)', () => {
    const template = readFileSync(sharedPath('templates', 'google-gemma-2-2b-it.jinja'), 'utf8');
    const out = renderChat(BOS_EOS, CONVERSATION, { template });
    expect(out).toBe(
      '<s><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n' +
        '<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n',
    );
  });

  it('reports a template that raises as ChatTemplateError with its message', () => {
    const template = readFileSync(sharedPath('templates', 'google-gemma-2-2b-it.jinja'), 'utf8');
    const bad: ChatMessage[] = [
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ];
    expect(() => renderChat(BOS_EOS, bad, { template })).toThrow(ChatTemplateError);
    expect(() => renderChat(BOS_EOS, bad, { template })).toThrow(/Conversation roles must alternate/);
  });
});

describe('renderChat basics', () => {
  it('uses the metadata template with bos_token/eos_token, and a template override instead of it', () => {
    const md = new Map<string, GgufValue>([
      ...BOS_EOS,
      ['tokenizer.chat_template', '{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% else %}{{ eos_token }}{% endif %}'],
    ]);
    const msgs: ChatMessage[] = [{ role: 'user', content: 'hi' }];
    expect(renderChat(md, msgs)).toBe('<s>[user]hi[assistant]');
    expect(renderChat(md, msgs, { addGenerationPrompt: false })).toBe('<s>[user]hi</s>');
    expect(renderChat(md, msgs, { template: '{{ messages[0].content | upper }}' })).toBe('HI');
  });

  it('provides strftime_now and raise_exception', () => {
    const year = String(new Date().getFullYear());
    expect(renderChat(BOS_EOS, [], { template: "{{ strftime_now('%Y') }}" })).toBe(year);
    expect(() => renderChat(BOS_EOS, [], { template: "{{ raise_exception('nope') }}" })).toThrow(/nope/);
  });

  it('throws ChatTemplateError for a template that does not parse', () => {
    expect(() => renderChat(BOS_EOS, [], { template: '{% for x in %}' })).toThrow(ChatTemplateError);
  });
});

describe.skipIf(missingShared('models', 'stories260K.gguf') !== undefined)('renderChat without a template', () => {
  let metadata: ReadonlyMap<string, GgufValue>;
  beforeAll(async () => {
    const f = await GgufFile.open(sharedPath('models', 'stories260K.gguf'));
    metadata = f.metadata;
    await f.close();
  });

  it('stories260K (no tokenizer.chat_template) gets the plain System:/User:/Assistant: transcript', () => {
    expect(metadata.has('tokenizer.chat_template')).toBe(false);
    expect(renderChat(metadata, CONVERSATION)).toBe('System: You are terse.\nUser: Hi there\nAssistant: Hello!\nUser: What is 2+2?\nAssistant:');
    expect(renderChat(metadata, CONVERSATION, { addGenerationPrompt: false })).toBe(
      'System: You are terse.\nUser: Hi there\nAssistant: Hello!\nUser: What is 2+2?\n',
    );
  });
});
