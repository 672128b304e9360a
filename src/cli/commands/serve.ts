// rocforge serve: the OpenAI-compatible HTTP server.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendChoice } from '../../engine/types.ts';
import { numericsFlag } from './generate.ts';
import { InferenceEngine } from '../../engine/engine.ts';
import { InvalidRequestError, ModelNotFoundError } from '../../errors.ts';
import { buildServer } from '../../server/app.ts';
import { DEFAULT_MODEL_NOTICE, resolveModel } from '../../server/model-source.ts';
import { ProgressBar } from '../../server/progress-bar.ts';

const HELP = `usage: rocforge serve [-m model.gguf] [options]

Serves a GGUF model over an OpenAI-compatible HTTP API:
  POST /v1/chat/completions, POST /v1/completions (streaming with "stream": true),
  GET /v1/models, GET /health (503 while loading), GET /metrics (Prometheus).

options:
  -m, --model PATH     GGUF file (default: $ROCFORGE_MODEL, else the built-in stories260K demo
                       model: tiny, real English, for trying rocforge out)
  --backend NAME       auto | webgpu | hip | cpu (default auto: webgpu if an adapter exists, else cpu)
  --numerics MODE      exact | fast: GPU kernels replay llama.cpp's CPU arithmetic bit for bit, or
                       plain f32 kernels (several times faster prefill; logits within ~1e-2) (default exact)
  --host HOST          address to bind (default 127.0.0.1, loopback only)
  --port N             port (default 8080; 0 picks a free one)
  --parallel N         concurrent sequences, one KV-cache slot each (default 4)
  --ctx-size N         context length per sequence (default: the model's, at most 4096)
  --max-queue N        requests that may wait for a slot before 503 (default 64)
  --api-key KEY        require "Authorization: Bearer KEY" (default: $ROCFORGE_API_KEY, else none)
  --verbose            log every request
  -h, --help           this help`;

function intOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidRequestError(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', short: 'm' },
      backend: { type: 'string', default: 'auto' },
      numerics: { type: 'string', default: 'exact' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8080' },
      parallel: { type: 'string', default: '4' },
      'ctx-size': { type: 'string' },
      'max-queue': { type: 'string', default: '64' },
      'api-key': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const backend = values.backend as BackendChoice;
  const numerics = numericsFlag(values.numerics as string);
  if (!['auto', 'webgpu', 'hip', 'cpu'].includes(backend)) throw new InvalidRequestError(`--backend must be auto, webgpu, hip or cpu, got "${values.backend}"`);
  const port = intOption('port', values.port, 0)!;
  if (port > 65535) throw new InvalidRequestError(`--port must be at most 65535, got ${port}`);
  const parallel = intOption('parallel', values.parallel, 1)!;
  const contextLength = intOption('ctx-size', values['ctx-size'], 1);
  const maxQueue = intOption('max-queue', values['max-queue'], 0)!;
  const apiKey = values['api-key'] ?? (process.env.ROCFORGE_API_KEY || undefined);

  const source = resolveModel(values.model, process.env);
  if (source.demo) console.log(`rocforge serve: ${DEFAULT_MODEL_NOTICE}`);
  let created: number;
  try {
    created = Math.floor(statSync(source.path).mtimeMs / 1000);
  } catch (e) {
    throw new ModelNotFoundError(`cannot read model file ${source.path} (${(e as Error).message}): pass -m with the path of a .gguf file`);
  }

  // The server listens first (so /health can say "loading" and a taken port fails fast), then the
  // model loads behind it.
  let resolveEngine!: (e: InferenceEngine) => void;
  let rejectEngine!: (e: unknown) => void;
  const enginePromise = new Promise<InferenceEngine>((res, rej) => {
    resolveEngine = res;
    rejectEngine = rej;
  });
  // Failures are reported below; the server only needs to know it failed.
  enginePromise.catch(() => undefined);
  const meta: Record<string, string | number | boolean> = { path: source.path, demo: source.demo, parallel };
  const { app, ctx } = await buildServer({
    engine: enginePromise,
    model: { id: basename(source.path), created, meta, ...(source.demo ? { notice: DEFAULT_MODEL_NOTICE } : {}) },
    apiKey,
    logger: values.verbose ? { level: 'info' } : { level: 'warn' },
  });
  let address: string;
  try {
    address = await app.listen({ host: values.host, port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new InvalidRequestError(`port ${port} on ${values.host} is already in use: pick another with --port (0 picks a free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new InvalidRequestError(`cannot bind ${values.host}: it is not an address of this machine; use --host 127.0.0.1 or 0.0.0.0`);
    if (code === 'EACCES') throw new InvalidRequestError(`no permission to bind port ${port} on ${values.host}: use a port above 1023`);
    throw e;
  }
  console.log(`rocforge serve: listening on ${address} (model ${source.path} from ${source.from}; /health answers 503 until it is loaded)`);
  if (apiKey) console.log('rocforge serve: API key required (Authorization: Bearer ...)');

  const bar = new ProgressBar(`loading ${basename(source.path)}`);
  InferenceEngine.create(source.path, {
    backend,
    numerics,
    parallel,
    contextLength,
    maxQueue,
    onProgress: (l, t) => {
      bar.update(l, t);
      ctx.setProgress(t > 0 ? l / t : 0);
    },
  }).then(resolveEngine, rejectEngine);

  let engine: InferenceEngine;
  try {
    engine = await enginePromise;
  } catch (e) {
    bar.finish();
    await app.close();
    throw e;
  } finally {
    bar.finish();
  }
  Object.assign(meta, { backend: engine.backend.name, device: engine.backend.deviceDescription, context_length: engine.contextLength });
  console.log(
    `rocforge serve: ready: ${ctx.model.id} on ${engine.backend.name} (${engine.backend.deviceDescription}), ${engine.parallel} slots x ${engine.contextLength} tokens` +
      (source.demo ? ' [built-in demo model: tiny, for trying rocforge out; serve a real one with -m]' : ''),
  );

  // Runs until SIGINT/SIGTERM, then stops accepting, ends streams and frees the device.
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      console.log(`rocforge serve: ${signal}, shutting down`);
      void app
        .close()
        .then(() => engine.dispose())
        .then(() => resolve(0), (e: unknown) => {
          console.error(`rocforge serve: error while shutting down: ${(e as Error).message}`);
          resolve(1);
        });
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}
