// rocforge tokenize: prints the token ids (and pieces) of a text, as llama.cpp's tokenizer gives them.
import { parseArgs } from 'node:util';
import { InvalidRequestError } from '../../errors.ts';
import { loadTokenizer } from '../../tokenizer/load.ts';

const HELP = `usage: rocforge tokenize -m model.gguf [options] TEXT

Prints one line per token: the id and the text it stands for. Works on any GGUF with a vocabulary,
including vocab-only files.

options:
  -m, --model PATH     GGUF file (required)
  --no-bos             do not add BOS/EOS (or CLS/SEP), whatever the model's metadata says
  --parse-special      recognize control tokens such as <|im_start|> written in TEXT
  --ids                print only the ids, as a JSON array
  --json               print { "ids": [...], "pieces": [...] }
  -h, --help           this help`;

/** How a piece prints: its UTF-8 text or, when it holds part of a character, ASCII plus <0xNN> escapes. */
export function showPiece(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)).join('');
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string', short: 'm' },
      'no-bos': { type: 'boolean' },
      'parse-special': { type: 'boolean' },
      ids: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new InvalidRequestError('missing -m/--model: pass the GGUF file whose vocabulary to use');
  if (positionals.length === 0) throw new InvalidRequestError('missing TEXT: pass the text to tokenize as an argument');
  const text = positionals.join(' ');
  const { tokenizer } = await loadTokenizer(values.model);
  const ids = tokenizer.encode(text, { addSpecial: !values['no-bos'], parseSpecial: values['parse-special'] ?? false });
  if (values.ids) {
    console.log(JSON.stringify(ids));
  } else if (values.json) {
    console.log(JSON.stringify({ ids, pieces: ids.map((id) => showPiece(tokenizer.tokenBytes(id))) }));
  } else {
    for (const id of ids) console.log(`${String(id).padStart(6)} -> '${showPiece(tokenizer.tokenBytes(id))}'`);
  }
  return 0;
}
