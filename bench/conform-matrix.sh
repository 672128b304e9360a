#!/usr/bin/env bash
# `rocforge conform` over every model of $ROCFORGE_SHARED/models and new-archs/models, against each
# server kind in SERVERS, JOBS models at a time (each on its own port), on the GPU machine after
# `. .device/setup.sh` (llama: llama.cpp's llama-server from the anchors' build in $LLAMA_DIR):
#   SERVERS="llama webgpu hip" JOBS=8 bash bench/conform-matrix.sh
# The reference is rocforge's cpu backend (exact numerics), the prompts the oracle's 12, 24 steps.
# Writes $OUT/conform-<kind>/<model>.{json,txt,server.log} and $OUT/conform-<kind>.md (the table).
set -uo pipefail
OUT=${OUT:-/tmp/rocforge-out}
SERVERS=${SERVERS:-llama webgpu hip}
JOBS=${JOBS:-8}
STEPS=${STEPS:-24}
NUMERICS=${NUMERICS:-exact}
export LLAMA_DIR=${LLAMA_DIR:-/tmp/llama.cpp}
export LLAMA_FLAGS=${LLAMA_FLAGS:-}   # e.g. "-fa" for flash attention (the oracles were made without)
S=${ROCFORGE_SHARED:?set ROCFORGE_SHARED}
export S OUT STEPS NUMERICS

one() {
  local kind=$1 idx=$2 model=$3
  local name port=$((9200 + idx)) dir=$OUT/conform-$kind server
  name=$(basename "$model" .gguf)
  mkdir -p "$dir"
  case $kind in
    llama) "$LLAMA_DIR/build/bin/llama-server" -m "$model" -ngl 99 -c 4096 $LLAMA_FLAGS --port "$port" > "$dir/$name.server.log" 2>&1 & ;;
    *) node src/cli/rocforge.mjs serve -m "$model" --backend "$kind" --numerics "$NUMERICS" --port "$port" > "$dir/$name.server.log" 2>&1 & ;;
  esac
  server=$!
  if node bench/wait-healthy.mjs "http://127.0.0.1:$port" "$server" 120 2>/dev/null; then
    node src/cli/rocforge.mjs conform --url "http://127.0.0.1:$port" -m "$model" --prompts "$S/oracle/prompts.json" \
      --steps "$STEPS" --json "$dir/$name.json" > "$dir/$name.txt" 2>&1
    echo "$kind $name: exit $? $(grep -a '^summary' "$dir/$name.txt" | tail -1)"
  else
    echo "$kind $name: the server did not become healthy (see $name.server.log)"
  fi
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
}
export -f one

for kind in $SERVERS; do
  echo "[$(date +%T)] conform against $kind servers"
  i=0
  for m in "$S"/models/*.gguf "$S"/new-archs/models/*.gguf; do
    [ -f "$m" ] && { echo "$kind $i $m"; i=$((i + 1)); }
  done | xargs -P "$JOBS" -L 1 bash -c 'one "$@"' _
  npx tsx bench/conform-summary.ts "$OUT/conform-$kind" > "$OUT/conform-$kind.md"
  tail -3 "$OUT/conform-$kind.md"
done
