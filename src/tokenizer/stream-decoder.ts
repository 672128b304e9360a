// Turns generated token ids into text one token at a time without ever splitting a UTF-8 character:
// bytes of an incomplete character are held back until the token that completes it arrives, so a
// stream never shows U+FFFD for a character that was merely cut between tokens.
import type { Tokenizer } from './tokenizer.ts';

export interface StreamDecoderOptions {
  /** Leave out control and unknown tokens (BOS, EOS, <|im_end|>...). Default false. */
  skipSpecial?: boolean;
}

export class StreamDecoder {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly skipSpecial: boolean;

  constructor(
    private readonly tok: Tokenizer,
    opts: StreamDecoderOptions = {},
  ) {
    this.skipSpecial = opts.skipSpecial ?? false;
  }

  /** The text this token completes ('' while a multi-byte character is still incomplete). */
  push(id: number): string {
    if (this.skipSpecial && this.tok.isSpecial(id)) return '';
    // TextDecoder in streaming mode keeps an incomplete trailing sequence for the next call.
    return this.decoder.decode(this.tok.tokenBytes(id), { stream: true });
  }

  /** Ends the stream: bytes still held (a character that never completed) come out as U+FFFD. */
  flush(): string {
    return this.decoder.decode();
  }
}
