// A one-line progress bar on stderr for model loading; on a non-terminal it prints every 25 %.
export class ProgressBar {
  private lastQuarter = -1;
  private lastDraw = 0;
  private done = false;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(loaded: number, total: number): void {
    if (this.done) return;
    const frac = total > 0 ? Math.min(1, loaded / total) : 0;
    const mb = (b: number): string => (b / 1e6).toFixed(1);
    if (this.out.isTTY) {
      const now = Date.now();
      if (frac < 1 && now - this.lastDraw < 50) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(frac * width);
      this.out.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${mb(loaded)}/${mb(total)} MB`);
    } else {
      const quarter = Math.floor(frac * 4);
      if (quarter === this.lastQuarter) return;
      this.lastQuarter = quarter;
      this.out.write(`${this.label}: ${quarter * 25}% (${mb(loaded)}/${mb(total)} MB)\n`);
    }
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.out.isTTY && this.lastDraw > 0) this.out.write('\n');
  }
}
