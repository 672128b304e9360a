// Tokenizer throughput: tokens/s on ~1 MB of text for each shared vocabulary, plus the time for 1/4,
// 1/2 and 1 MB to show that tokenization time grows linearly with the input.
// Run: npx tsx bench/tokenizer.ts [MB]   (needs ../shared or ROCFORGE_SHARED)
// Times are this process's CPU time (user + system), so that other load on a shared machine does not
// inflate them; wall-clock time is printed alongside.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTokenizer } from '../src/tokenizer/load.ts';

const shared = resolve(process.env.ROCFORGE_SHARED ?? join(import.meta.dirname, '..', '..', 'shared'));
const megabytes = Number(process.argv[2] ?? 1);

/** Deterministic text: words from a mixed-script list, punctuation, digits and newlines (xorshift PRNG). */
function makeText(bytes: number, seed = 12345): string {
  const words = [
    'the', 'a', 'little', 'girl', 'named', 'Lily', 'loved', 'to', 'play', 'outside', 'in', 'park', 'One', 'day',
    'she', 'saw', 'big', 'red', 'ball', "don't", "it's", 'Hello', 'world', 'tokenizer', 'café', 'naïve', 'Führer',
    'über', '日本語', 'テキスト', '中文', '한국어', 'русский', 'ελληνικά', 'עברית', 'عربى', '😀', '🦙', '3.14159', '2024',
    'function', 'return', '{', '}', '(x)', '=>', '==', '// comment',
  ];
  const punct = [' ', ' ', ' ', ' ', ' ', ', ', '. ', '! ', '? ', '\n', '\n\n', '\t', '  '];
  let x = seed >>> 0;
  const rnd = (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  const parts: string[] = [];
  let len = 0;
  while (len < bytes) {
    // One word in eight is made up, so the BPE word cache cannot serve everything.
    const w = rnd(8) === 0 ? Array.from({ length: 3 + rnd(8) }, () => String.fromCharCode(97 + rnd(26))).join('') : words[rnd(words.length)]!;
    const p = punct[rnd(punct.length)]!;
    parts.push(w, p);
    len += Buffer.byteLength(w) + Buffer.byteLength(p);
  }
  return parts.join('');
}

const VOCABS: Array<[string, string]> = [
  ['stories260K (SPM, 512)', join(shared, 'models', 'stories260K.gguf')],
  ['llama-spm (SPM, 32k)', join(shared, 'vocab', 'ggml-vocab-llama-spm.gguf')],
  ['gpt-2 (BPE)', join(shared, 'vocab', 'ggml-vocab-gpt-2.gguf')],
  ['starcoder (BPE)', join(shared, 'vocab', 'ggml-vocab-starcoder.gguf')],
  ['deepseek-coder (BPE)', join(shared, 'vocab', 'ggml-vocab-deepseek-coder.gguf')],
  ['falcon (BPE)', join(shared, 'vocab', 'ggml-vocab-falcon.gguf')],
  ['bert-bge (WPM)', join(shared, 'vocab', 'ggml-vocab-bert-bge.gguf')],
];

const full = makeText(megabytes * 1024 * 1024);
const sizes = [0.25, 0.5, 1].map((f) => full.slice(0, Math.floor(full.length * f)));
console.log(`text: ${(Buffer.byteLength(full) / 1048576).toFixed(2)} MB, ${full.length} UTF-16 units\n`);
console.log('vocabulary                 tokens   CPU s  (wall s)   tokens/s    MB/s   CPU s at 1/4, 1/2, 1 of the text');
for (const [name, path] of VOCABS) {
  if (!existsSync(path)) {
    console.log(`${name.padEnd(26)} skipped: ${path} not found`);
    continue;
  }
  const { tokenizer } = await loadTokenizer(path);
  tokenizer.encode(sizes[0]!.slice(0, 10_000)); // warm up the JIT
  const times = sizes.map((s) => {
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    const n = tokenizer.encode(s, { addSpecial: false }).length;
    const c = process.cpuUsage(c0);
    return { n, s: (c.user + c.system) / 1e6, wall: (performance.now() - w0) / 1000 };
  });
  const last = times[times.length - 1]!;
  const mbps = Buffer.byteLength(full) / 1048576 / last.s;
  console.log(
    `${name.padEnd(26)} ${String(last.n).padStart(8)} ${last.s.toFixed(3).padStart(7)} ${`(${last.wall.toFixed(3)})`.padStart(9)} ${Math.round(last.n / last.s).toString().padStart(10)} ${mbps.toFixed(2).padStart(7)}   ${times.map((t) => t.s.toFixed(3)).join(', ')}`,
  );
}

// Worst cases for the caches: one long run with no word breaks, so the merge queue itself must be
// O(n log n) (a quadratic merge would take minutes here).
console.log('\nno-break input (one segment / one word), 1/4, 1/2, 1 of 256 KB:');
const run = makeText(256 * 1024, 99).replace(/[^a-z]/g, '');
for (const [name, path] of [VOCABS[1]!, VOCABS[2]!]) {
  if (!existsSync(path)) continue;
  const { tokenizer } = await loadTokenizer(path);
  const times = [0.25, 0.5, 1].map((f) => {
    const c0 = process.cpuUsage();
    const n = tokenizer.encode(run.slice(0, Math.floor(run.length * f)), { addSpecial: false }).length;
    const c = process.cpuUsage(c0);
    return `${n} tokens in ${((c.user + c.system) / 1e6).toFixed(3)} CPU s`;
  });
  console.log(`${name.padEnd(26)} ${times.join(' | ')}`);
}
