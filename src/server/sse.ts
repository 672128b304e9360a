// Server-sent events over a raw Node response: one `data:` line per JSON chunk, flushed at once
// (Nagle off, no compression), with back-pressure so a slow reader does not grow memory unboundedly.
import type { ServerResponse } from 'node:http';

export class SseWriter {
  private closed = false;

  constructor(private readonly res: ServerResponse) {
    res.on('close', () => {
      this.closed = true;
    });
  }

  /** Sends the headers; called before the first event so clients see the stream open early. */
  open(extraHeaders: Record<string, string> = {}): void {
    this.res.socket?.setNoDelay(true);
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // Tells nginx-style proxies not to buffer the stream.
      'X-Accel-Buffering': 'no',
      ...extraHeaders,
    });
    this.res.flushHeaders();
  }

  /** True once the client went away (or the stream ended). */
  get isClosed(): boolean {
    return this.closed || this.res.destroyed || this.res.writableEnded;
  }

  async send(data: unknown): Promise<void> {
    await this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  async done(): Promise<void> {
    await this.write('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  private async write(text: string): Promise<void> {
    if (this.isClosed) return;
    if (this.res.write(text)) return;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        this.res.off('drain', finish);
        this.res.off('close', finish);
        resolve();
      };
      this.res.on('drain', finish);
      this.res.on('close', finish);
    });
  }
}
