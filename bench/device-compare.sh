#!/usr/bin/env bash
# One call on the GPU machine (after `. .device/setup.sh`, with the anchors packed into
# .device/shared/anchors): llama.cpp c392e50 (CUDA, flash attention) and rocforge on the same
# rocforge-synth files, pp512 and tg128, in one run so that the ratios are fair.
#   SIZES="1b 8b" BACKENDS="hip" NUMERICS="fast exact" REPS=3 bash bench/device-compare.sh
# Needs `npm run build:hip` first for the hip backend. Writes JSON and logs to $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/rocforge-out}
mkdir -p "$OUT"
SIZES=${SIZES:-1b 8b}
BACKENDS=${BACKENDS:-hip}
NUMERICS=${NUMERICS:-fast exact}
REPS=${REPS:-3}
anchors=${ANCHORS:-.device/shared/anchors}
stamp() { echo "[$(date +%T)] $*"; }

stamp "building llama.cpp (background)"
"$anchors/build-llama.sh" /tmp/llama.cpp > "$OUT/llama-build.log" 2>&1 &
build=$!
for size in $SIZES; do
  case $size in
    1b) shape="--dim 2048 --layers 16 --heads 32 --kv-heads 8 --ffn 8192 --vocab 32000" ;;
    8b) shape="--dim 4096 --layers 32 --heads 32 --kv-heads 8 --ffn 14336 --vocab 128256" ;;
    *) echo "unknown size $size"; continue ;;
  esac
  f=/tmp/synth-$size-q4_0.gguf
  [ -f "$f" ] || { stamp "synth $size"; node src/cli/rocforge.mjs synth --arch llama $shape --type Q4_0 -o "$f" 2>/dev/null; }
done
wait $build || { cat "$OUT/llama-build.log"; exit 1; }
tail -1 "$OUT/llama-build.log"
for size in $SIZES; do
  f=/tmp/synth-$size-q4_0.gguf
  stamp "llama-bench $size"
  LLAMA_DIR=/tmp/llama.cpp "$anchors/llama-bench.sh" "$f" -r "$REPS" -o json > "$OUT/llama-bench-$size.json" 2> "$OUT/llama-bench-$size.err"
  node -e 'for (const t of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) console.log(`llama.cpp ${process.argv[2]} pp${t.n_prompt} tg${t.n_gen}: ${t.avg_ts.toFixed(1)} ± ${t.stddev_ts.toFixed(1)} t/s`)' "$OUT/llama-bench-$size.json" "$size"
  for backend in $BACKENDS; do
    for numerics in $NUMERICS; do
      stamp "rocforge $backend $numerics $size"
      node src/cli/rocforge.mjs bench -m "$f" --backend "$backend" --numerics "$numerics" -p 512 -n 128 -r "$REPS" -o json \
        > "$OUT/rocforge-$backend-$numerics-$size.json" 2> "$OUT/rocforge-$backend-$numerics-$size.err" || tail -3 "$OUT/rocforge-$backend-$numerics-$size.err"
      node -e 'for (const t of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) console.log(`rocforge ${process.argv[2]} pp${t.n_prompt} tg${t.n_gen}: ${t.avg_ts.toFixed(1)} ± ${t.stddev_ts.toFixed(1)} t/s`)' "$OUT/rocforge-$backend-$numerics-$size.json" "$backend-$numerics-$size"
    done
  done
done
stamp done
