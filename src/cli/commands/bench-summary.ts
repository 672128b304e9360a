// rocforge bench summary FILE...: merges `rocforge bench --json` documents and `rocforge bench serve
// --json` reports into one Markdown summary (ratios to llama.cpp and llama-server) and one chart.
import { readFileSync, writeFileSync } from 'node:fs';
import { classify, renderSummaryMd, summaryChart, type SummaryInput } from '../../bench/summary.ts';
import { renderBarChart } from '../../bench/svg.ts';
import { InvalidRequestError } from '../../errors.ts';
import { VERBOSE_OPTION } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp } from '../options.ts';

export const SPEC = defineCommand({
  command: 'bench summary',
  usage: 'FILE.json... [--md summary.md] [--svg chart.svg] [--title TEXT]',
  description: `Reads the JSON files of rocforge bench --json (one per backend and numerics; llama.cpp's figures
from whichever ran --llama-bench on that file) and rocforge bench serve --json (a server labelled
llama-* is the reference), and prints one Markdown summary with ratios; --svg draws them all.
Files that are neither are named on stderr and skipped.`,
  positionals: 'FILE.json...',
  options: {
    md: { type: 'string', arg: 'FILE', help: 'also write the summary to FILE' },
    svg: { type: 'string', arg: 'FILE', help: 'write the chart to FILE' },
    title: { type: 'string', arg: 'TEXT', help: 'heading of the summary and chart', default: 'rocforge bench summary' },
    verbose: VERBOSE_OPTION,
  },
});

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(SPEC, argv);
  if (v.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  if (positionals.length === 0) throw new InvalidRequestError('bench summary needs at least one JSON report (rocforge bench --json, rocforge bench serve --json)');
  const inputs: SummaryInput[] = [];
  for (const path of positionals) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      console.error(`rocforge bench summary: skipped ${path}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const input = classify(json);
    if (input) inputs.push(input);
    else console.error(`rocforge bench summary: skipped ${path}: neither a rocforge bench --json document nor a bench serve report`);
  }
  if (inputs.length === 0) throw new InvalidRequestError('none of the files is a rocforge bench or bench serve JSON report');
  const md = renderSummaryMd(inputs, v.title).join('\n');
  console.log(md);
  if (v.md !== undefined) writeFileSync(v.md, md + '\n');
  if (v.svg !== undefined) writeFileSync(v.svg, renderBarChart(summaryChart(inputs, v.title)));
  return 0;
}
