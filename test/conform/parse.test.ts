// The response shapes conform reads: llama-server's /completion (ids, steps left out after a cut
// UTF-8 character), OpenAI's legacy text-only log-probs and the chat-style `logprobs.content` list.
import { describe, expect, it } from 'vitest';
import { parseLlamaServer, parseOpenAi, ServerRequestError } from '../../src/conform/client.ts';

const alt = (id: number, token: string, logprob: number) => ({ id, token, bytes: [], logprob });

describe('parseLlamaServer', () => {
  it('aligns completion_probabilities with the generated ids, keeping a left-out step as its id', () => {
    const r = parseLlamaServer({
      tokens: [10, 20, 30],
      tokens_evaluated: 5,
      completion_probabilities: [
        { ...alt(10, ' a', -0.1), top_logprobs: [alt(10, ' a', -0.1), alt(11, ' b', -2.5)] },
        { ...alt(30, 'é', -0.3), top_logprobs: [alt(30, 'é', -0.3)] },
      ],
    });
    expect(r.promptTokenCount).toBe(5);
    expect(r.steps.map((s) => s.id)).toEqual([10, 20, 30]);
    expect(r.steps[1]!.top).toEqual([]);
    expect(r.steps[0]!.top[1]).toEqual({ id: 11, text: ' b', logprob: -2.5 });
  });

  it('says so when the server ignored n_probs', () => {
    expect(() => parseLlamaServer({ content: 'x', tokens: [1] })).toThrow(ServerRequestError);
    expect(() => parseLlamaServer({ content: 'x', tokens: [1] })).toThrow(/n_probs/);
  });
});

describe('parseOpenAi', () => {
  it('reads text-only legacy log-probs, alternatives by decreasing log-prob, null entries dropped', () => {
    const r = parseOpenAi({
      choices: [{ text: ' a b', logprobs: { tokens: [' a', ' b'], token_logprobs: [-0.1, null], top_logprobs: [{ ' c': -3, ' a': -0.1 }, { ' b': -0.2, ' d': null }] } }],
      usage: { prompt_tokens: 4 },
    });
    expect(r.promptTokenCount).toBe(4);
    expect(r.steps[0]).toEqual({ text: ' a', logprob: -0.1, top: [{ text: ' a', logprob: -0.1 }, { text: ' c', logprob: -3 }] });
    expect(r.steps[1]!.logprob).toBeUndefined();
    expect(r.steps[1]!.top).toEqual([{ text: ' b', logprob: -0.2 }]);
  });

  it("reads llama-server's /v1/completions shape (logprobs.content with ids)", () => {
    const r = parseOpenAi({ choices: [{ logprobs: { content: [{ ...alt(7, 'x', -0.5), top_logprobs: [alt(7, 'x', -0.5), alt(8, 'y', -1)] }] } }] });
    expect(r.steps[0]!.id).toBe(7);
    expect(r.steps[0]!.top.map((t) => t.id)).toEqual([7, 8]);
  });

  it('says so when there are no log-probs or no choices', () => {
    expect(() => parseOpenAi({ choices: [{ text: 'x', logprobs: null }] })).toThrow(/ignored "logprobs"/);
    expect(() => parseOpenAi({ error: 'x' })).toThrow(/without choices/);
  });
});
