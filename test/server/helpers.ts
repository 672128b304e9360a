// Starts a server around an engine on a random loopback port, for the server tests.
import { buildServer, type RocforgeServer, type ServerOptions } from '../../src/server/app.ts';
import type { ServingEngine } from '../../src/server/serving-engine.ts';
import { readSse } from '../../src/server/sse-reader.ts';

export interface TestServer extends RocforgeServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(engine: ServingEngine | Promise<ServingEngine>, extra: Partial<ServerOptions> = {}): Promise<TestServer> {
  const server = await buildServer({ engine, model: { id: 'fake-model.gguf', created: 1_700_000_000 }, ...extra });
  const address = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return { ...server, url: address, close: () => server.app.close() };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal });
}

export interface StreamedEvents {
  events: unknown[];
  times: number[];
  sawDone: boolean;
}

/** Reads a whole SSE response: parsed JSON events, their arrival times, and whether [DONE] ended it. */
export async function readEvents(res: Response): Promise<StreamedEvents> {
  const out: StreamedEvents = { events: [], times: [], sawDone: false };
  for await (const e of readSse(res.body!)) {
    if (out.sawDone) throw new Error(`event after [DONE]: ${e.data}`);
    if (e.data === '[DONE]') {
      out.sawDone = true;
      continue;
    }
    out.events.push(JSON.parse(e.data));
    out.times.push(e.at);
  }
  return out;
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - t0;
}
