// node bench/wait-healthy.mjs URL PID [SECONDS]: waits until GET URL/health answers 200 (exit 0),
// the server process PID exits (exit 1) or SECONDS pass (default 120; exit 1). The bench scripts
// start a server in the background and call this before measuring it.
const [url, pidArg, secondsArg] = process.argv.slice(2);
const pid = Number(pidArg);
const limitMs = Number(secondsArg ?? 120) * 1000;
if (!url || !Number.isInteger(pid)) {
  console.error('usage: node bench/wait-healthy.mjs URL PID [SECONDS]');
  process.exit(2);
}
const t0 = Date.now();
for (;;) {
  try {
    if ((await fetch(`${url}/health`)).status === 200) process.exit(0);
  } catch {
    // not listening yet
  }
  try {
    process.kill(pid, 0);
  } catch {
    console.error('the server exited');
    process.exit(1);
  }
  if (Date.now() - t0 > limitMs) {
    console.error(`not healthy after ${limitMs / 1000} s`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 250));
}
