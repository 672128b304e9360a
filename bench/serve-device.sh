#!/usr/bin/env bash
# The serve load benchmark in one command (for the GPU machine): synthesizes a model with the
# project's own writer (unless MODEL exists), serves it, waits for /health, runs `rocforge bench serve`
# at each client count, and leaves JSON reports, tables, the server log and a /metrics scrape in
# $OUT/serve-<backend>/ (or bench/results/ when $OUT is unset).
#   BACKEND=webgpu NUMERICS=exact|fast CLIENTS="1 4 16" DURATION=30 bench/serve-device.sh
set -euo pipefail
BACKEND=${BACKEND:-webgpu}
NUMERICS=${NUMERICS:-exact}
PARALLEL=${PARALLEL:-16}
DURATION=${DURATION:-30}
MAX_TOKENS=${MAX_TOKENS:-128}
CLIENTS=${CLIENTS:-"1 4 16"}
PORT=${PORT:-8080}
MODEL=${MODEL:-/tmp/rocforge-bench-llama-1024.gguf}
DIR=${OUT:-bench/results}/serve-$BACKEND-$NUMERICS
URL=http://127.0.0.1:$PORT
mkdir -p "$DIR"
cli() { node src/cli/rocforge.mjs "$@"; }

if [ ! -f "$MODEL" ]; then
  # ~155M parameters in Q4_0: big enough that the device, not dispatch overhead alone, is measured.
  cli synth --arch llama --dim 1024 --layers 8 --heads 16 --kv-heads 4 --ffn 2816 --vocab 32000 --type Q4_0 -q -o "$MODEL"
fi
# Started directly (not through the function) so that $! is node itself.
node src/cli/rocforge.mjs serve -m "$MODEL" --backend "$BACKEND" --numerics "$NUMERICS" --parallel "$PARALLEL" --ctx-size 1024 --port "$PORT" > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
node bench/wait-healthy.mjs "$URL" "$SERVER" 300
grep 'ready:' "$DIR/serve.log" || true
for C in $CLIENTS; do
  cli bench serve --url "$URL" --clients "$C" --duration "$DURATION" --max-tokens "$MAX_TOKENS" --endpoint completions \
    --json "$DIR/clients-$C.json" 2> "$DIR/clients-$C.txt" > /dev/null
  cat "$DIR/clients-$C.txt"
done
node -e 'fetch(process.argv[1] + "/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))' "$URL" > "$DIR/metrics.txt"
echo "reports in $DIR"
