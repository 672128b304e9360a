// rocforge tokenize: prints the token ids (and pieces) of a text, as llama.cpp's tokenizer gives them.
import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '../../errors.ts';
import { loadTokenizer } from '../../tokenizer/load.ts';
import { VERBOSE_OPTION } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp } from '../options.ts';

export const SPEC = defineCommand({
  command: 'tokenize',
  usage: '-m model.gguf [options] TEXT',
  description:
    'Prints one line per token: the id and the text it stands for. Works on any GGUF with a vocabulary,\nincluding vocab-only files. TEXT may also come from -p or -f.',
  positionals: 'TEXT',
  options: {
    model: { type: 'string', aliases: ['-m'], arg: 'PATH', help: 'GGUF file whose vocabulary to use', required: true },
    prompt: { type: 'string', aliases: ['-p'], arg: 'TEXT', help: 'the text (instead of TEXT)' },
    file: { type: 'string', aliases: ['-f'], arg: 'FILE', help: 'read the text from a file' },
    'no-bos': { type: 'boolean', help: 'do not add BOS/EOS (or CLS/SEP), whatever the model\'s metadata says' },
    'parse-special': { type: 'boolean', help: 'recognize control tokens such as <|im_start|> written in TEXT' },
    ids: { type: 'boolean', help: 'print only the ids, as a JSON array' },
    json: { type: 'boolean', help: 'print { "ids": [...], "pieces": [...] }' },
    verbose: VERBOSE_OPTION,
  },
});

/** How a piece prints: its UTF-8 text or, when it holds part of a character, ASCII plus <0xNN> escapes. */
export function showPiece(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)).join('');
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(SPEC, argv);
  if (values.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  if (!values.model) throw new InvalidRequestError('missing -m/--model: pass the GGUF file whose vocabulary to use');
  const given = [positionals.length > 0, values.prompt !== undefined, values.file !== undefined].filter(Boolean).length;
  if (given === 0) throw new InvalidRequestError('missing TEXT: pass the text to tokenize as an argument (or with -p, or -f FILE)');
  if (given > 1) throw new InvalidRequestError('pass the text one way only: as an argument, with -p or with -f');
  const text = values.file !== undefined ? readText(values.file) : (values.prompt ?? positionals.join(' '));
  const { tokenizer } = await loadTokenizer(values.model);
  const ids = tokenizer.encode(text, { addSpecial: !values['no-bos'], parseSpecial: values['parse-special'] });
  if (values.ids) {
    console.log(JSON.stringify(ids));
  } else if (values.json) {
    console.log(JSON.stringify({ ids, pieces: ids.map((id) => showPiece(tokenizer.tokenBytes(id))) }));
  } else {
    for (const id of ids) console.log(`${String(id).padStart(6)} -> '${showPiece(tokenizer.tokenBytes(id))}'`);
  }
  return 0;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidRequestError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): pass an existing text file to -f`);
  }
}
