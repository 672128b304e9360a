// Unicode helpers shared by the tokenizers: UTF-8 conversion, the GPT-2 byte<->char table, and the
// whitespace set llama.cpp uses (Unicode White_Space, which JS's \s does not match exactly: \s has
// U+FEFF and lacks U+0085).

const encoder = new TextEncoder();

/** Replaces lone surrogates with U+FFFD, as TextEncoder (and so any UTF-8 caller) would. */
const LONE_SURROGATE = /\p{Cs}/gu;
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes of a well-formed string's UTF-8 encoding, without allocating. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Unicode White_Space, as a fragment to put inside a regex character class (`[${WS}]`, `[^${WS}]`).
 * llama.cpp's unicode tables use this set for \s.
 */
export const WS = '\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const WS_RE = new RegExp(`^[${WS}]$`, 'u');

export function isWhitespace(cp: number): boolean {
  return WS_RE.test(String.fromCodePoint(cp));
}

/** GPT-2's reversible byte -> printable char table: printable Latin-1 maps to itself, the rest to U+0100+. */
function buildByteTables(): { byteToChar: string[]; charToByte: Map<string, number> } {
  const byteToChar: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) byteToChar[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  const charToByte = new Map<string, number>();
  byteToChar.forEach((c, b) => charToByte.set(c, b));
  return { byteToChar, charToByte };
}

export const { byteToChar: BYTE_TO_CHAR, charToByte: CHAR_TO_BYTE } = buildByteTables();

/** The byte-level form of a string: each UTF-8 byte becomes one char of the GPT-2 table. */
export function byteEncode(text: string): string {
  const bytes = utf8Encode(text);
  let out = '';
  for (const b of bytes) out += BYTE_TO_CHAR[b];
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
