// Servers that answer log-probs as text only (OpenAI's legacy shape): a piece of text back to the
// ids it may stand for. Several ids can share a text (byte tokens that are not whole characters all
// render as U+FFFD; SPM pieces with and without their space), so the map keeps every candidate and
// the caller picks among them with the reference's log-probs.
import { spmPieces } from '../diff/oracle.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';

export class TokenTextMap {
  private readonly byText = new Map<string, number[]>();

  /** Keys are each id's text as our server renders it (decode) and as llama.cpp does (its piece). */
  constructor(tokenizer: Tokenizer, spm?: { tokens: readonly string[]; types: readonly number[] }) {
    const pieces = spm ? spmPieces(spm.tokens, spm.types) : undefined;
    const dec = new TextDecoder('utf-8');
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      this.add(tokenizer.decode([id]), id);
      this.add(dec.decode(tokenizer.tokenBytes(id)), id);
      if (pieces) this.add(dec.decode(pieces[id]!), id);
    }
  }

  private add(text: string, id: number): void {
    const list = this.byText.get(text);
    if (!list) this.byText.set(text, [id]);
    else if (!list.includes(id)) list.push(id);
  }

  candidates(text: string): readonly number[] {
    return this.byText.get(text) ?? [];
  }

  /**
   * An alternative's text as an id: of the ids spelling it (skipping those already taken), the one
   * whose reference log-prob is nearest the server's. Where several ids share a text the server's
   * value belongs to one of them, and the likeliest is often not it (a server keying alternatives
   * by text may keep any of them): the nearest is the reading that blames the server least, so a
   * |Δ log-prob| that remains is one no reading of the text explains.
   */
  nearest(text: string, serverLogprob: number, logprob: (id: number) => number, taken?: ReadonlySet<number>): number | undefined {
    let best: number | undefined;
    for (const id of this.candidates(text)) {
      if (taken?.has(id)) continue;
      if (best === undefined || Math.abs(logprob(id) - serverLogprob) < Math.abs(logprob(best) - serverLogprob)) best = id;
    }
    return best;
  }

  /** The candidate the reference finds most likely (logprob(id)), skipping ids already taken. */
  resolve(text: string, logprob: (id: number) => number, taken?: ReadonlySet<number>): number | undefined {
    let best: number | undefined;
    for (const id of this.candidates(text)) {
      if (taken?.has(id)) continue;
      if (best === undefined || logprob(id) > logprob(best)) best = id;
    }
    return best;
  }
}
