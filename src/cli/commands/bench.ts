// rocforge bench <name>: benchmarks. `bench serve` is the HTTP load benchmark (bench/serve.ts).
const BENCHES: Record<string, { describe: string; load: () => Promise<(argv: string[]) => Promise<number>> }> = {
  serve: { describe: 'load-test a running server: N streaming clients, tokens/s, TTFT and inter-token latency', load: async () => (await import('../../../bench/serve.ts')).main },
};

const HELP = `usage: rocforge bench <benchmark> [options]

benchmarks:
${Object.entries(BENCHES).map(([k, v]) => `  ${k.padEnd(8)} ${v.describe}`).join('\n')}

rocforge bench <benchmark> --help shows its options.`;

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(HELP);
    return name ? 0 : 2;
  }
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`rocforge bench: unknown benchmark '${name}'\n\n${HELP}`);
    return 2;
  }
  try {
    return await (await bench.load())(rest);
  } catch (e) {
    console.error(`rocforge bench ${name}: ${(e as Error).message}`);
    return 1;
  }
}
