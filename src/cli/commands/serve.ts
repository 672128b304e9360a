// rocforge serve: the OpenAI-compatible HTTP server.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Backend } from '../../backends/backend.ts';
import { InferenceEngine } from '../../engine/engine.ts';
import { InvalidRequestError, ModelNotFoundError } from '../../errors.ts';
import { buildServer } from '../../server/app.ts';
import { DEFAULT_MODEL_NOTICE, resolveModel, type ModelSource } from '../../server/model-source.ts';
import { ProgressBar } from '../../server/progress-bar.ts';
import { BACKEND_OPTIONS, BATCH_OPTIONS, CTX_OPTION, LLAMA_IGNORED_OPTIONS, MODEL_OPTION, intAtLeast, openBackend, prefillChunkFrom } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp, type Values } from '../options.ts';

export const SPEC = defineCommand({
  command: 'serve',
  usage: '[-m model.gguf] [options]',
  description: `Serves a GGUF model over an OpenAI-compatible HTTP API:
  POST /v1/chat/completions, POST /v1/completions (streaming with "stream": true),
  GET /v1/models, GET /health (503 while loading), GET /metrics (Prometheus).
Requests naming any model are served by the loaded one. llama-server's option names work too.`,
  options: {
    model: MODEL_OPTION,
    alias: { type: 'string', aliases: ['-a'], arg: 'NAME', help: 'the model id /v1/models reports and replies name', defaultText: 'the file name' },
    ...BACKEND_OPTIONS,
    host: { type: 'string', arg: 'HOST', help: 'address to bind (0.0.0.0: every interface)', default: '127.0.0.1' },
    port: { type: 'string', arg: 'N', number: 'int', help: 'port; 0 picks a free one', default: '8080' },
    parallel: { type: 'string', aliases: ['-np'], arg: 'N', number: 'int', help: 'concurrent sequences, one KV-cache slot each', default: '4' },
    'ctx-size': { ...CTX_OPTION, help: "context length per sequence (llama-server's -c is the total of all -np slots)" },
    'max-queue': { type: 'string', arg: 'N', number: 'int', help: 'requests that may wait for a slot before 503', default: '64' },
    'api-key': { type: 'string', arg: 'KEY', help: 'require "Authorization: Bearer KEY"', defaultText: '$ROCFORGE_API_KEY, else none' },
    ...BATCH_OPTIONS,
    jinja: { type: 'boolean', help: "llama-server's switch for the model's chat template; rocforge always uses it, so this is ignored", defaultText: 'on', note: "rocforge always renders the model's own chat template; ignored" },
    ...LLAMA_IGNORED_OPTIONS,
    verbose: { type: 'boolean', aliases: ['-v'], help: "log every request; show Dawn's and the drivers' own messages and the stack of unexpected errors" },
  },
});

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommand(SPEC, argv);
  if (values.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  const port = intAtLeast('port', values.port, 0)!;
  if (port > 65535) throw new InvalidRequestError(`--port must be at most 65535, got ${port}`);
  const parallel = intAtLeast('parallel', values.parallel, 1)!;
  const contextLength = intAtLeast('ctx-size', values['ctx-size'], 1);
  const maxQueue = intAtLeast('max-queue', values['max-queue'], 0)!;
  const prefillChunk = prefillChunkFrom(values);
  const apiKey = values['api-key'] ?? (process.env.ROCFORGE_API_KEY || undefined);
  if (values.alias !== undefined && values.alias.trim() === '') throw new InvalidRequestError('--alias must not be empty: pass the model id clients should see');

  // The backend starts first: one that cannot start fails here, before anything listens.
  const backend = await openBackend(values);
  try {
    const source = resolveModel(values.model, process.env);
    if (source.demo) console.log(`rocforge serve: ${DEFAULT_MODEL_NOTICE}`);
    let created: number;
    try {
      created = Math.floor(statSync(source.path).mtimeMs / 1000);
    } catch (e) {
      throw new ModelNotFoundError(`cannot read model file ${source.path} (${(e as Error).message}): pass -m with the path of a .gguf file`);
    }
    return await listenAndLoad(backend, { values, source, created, port, parallel, contextLength, maxQueue, prefillChunk, apiKey });
  } catch (e) {
    backend.dispose();
    throw e;
  }
}

interface ServePlan {
  values: Values<typeof SPEC.options>;
  source: ModelSource;
  created: number;
  port: number;
  parallel: number;
  contextLength: number | undefined;
  maxQueue: number;
  prefillChunk: number | undefined;
  apiKey: string | undefined;
}

/** Listens, loads the model on the backend, then serves until SIGINT/SIGTERM; the backend is freed at the end. */
async function listenAndLoad(backend: Backend, plan: ServePlan): Promise<number> {
  const { values, source, created, port, parallel, contextLength, maxQueue, prefillChunk, apiKey } = plan;
  // The server listens next (so /health can say "loading" and a taken port fails fast), then the
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
    model: { id: values.alias ?? basename(source.path), created, meta, ...(source.demo ? { notice: DEFAULT_MODEL_NOTICE } : {}) },
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
    parallel,
    contextLength,
    maxQueue,
    ...(prefillChunk !== undefined ? { prefillChunk } : {}),
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
        .then(() => backend.dispose())
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
