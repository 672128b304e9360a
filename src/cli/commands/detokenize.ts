// rocforge detokenize: prints the text of token ids.
import { InvalidRequestError } from '../../errors.ts';
import { loadTokenizer } from '../../tokenizer/load.ts';
import { VERBOSE_OPTION } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp } from '../options.ts';

export const SPEC = defineCommand({
  command: 'detokenize',
  usage: '-m model.gguf [options] IDS...',
  description: `Prints the text the token ids stand for. IDS may be separate arguments, or one argument with ids
separated by spaces or commas (a JSON array such as "[1, 15043]" works too). Works on vocab-only
GGUF files.`,
  positionals: 'IDS',
  options: {
    model: { type: 'string', aliases: ['-m'], arg: 'PATH', help: 'GGUF file whose vocabulary to use', required: true },
    'skip-special': { type: 'boolean', help: 'leave out control tokens (BOS, EOS, <|im_end|>...)' },
    'keep-space-prefix': { type: 'boolean', help: 'keep the space SPM vocabularies put before the first word' },
    verbose: VERBOSE_OPTION,
  },
});

export function parseIds(args: readonly string[]): number[] {
  const parts = args.flatMap((a) => a.split(/[\s,[\]]+/)).filter((p) => p.length > 0);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new InvalidRequestError(`'${p}' is not a token id: pass non-negative integers`);
    return Number(p);
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(SPEC, argv);
  if (values.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  if (!values.model) throw new InvalidRequestError('missing -m/--model: pass the GGUF file whose vocabulary to use');
  const ids = parseIds(positionals);
  if (ids.length === 0) throw new InvalidRequestError('missing IDS: pass the token ids to turn into text');
  const { tokenizer } = await loadTokenizer(values.model);
  const bad = ids.find((id) => id >= tokenizer.vocabSize);
  if (bad !== undefined) throw new InvalidRequestError(`token id ${bad} is outside the vocabulary (0..${tokenizer.vocabSize - 1})`);
  const text = tokenizer.decode(ids, { skipSpecial: values['skip-special'], removeSpacePrefix: !values['keep-space-prefix'] });
  process.stdout.write(`${text}\n`);
  return 0;
}
