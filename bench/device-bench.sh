#!/usr/bin/env bash
# The whole rocforge-vs-llama.cpp comparison in one GPU-machine command (issue 14), after
# `. .device/setup.sh` with the anchors packed into .device/shared/anchors:
#   PACK_DATA='anchors/llama.cpp-c392e50.tar.xz anchors/build-llama.sh anchors/llama-bench.sh' ../shared/device/pack
#   . .device/setup.sh && bash bench/device-bench.sh
# 1. synthesizes the 1.1B and 8B Q4_0 files while llama.cpp (CUDA) builds in the background, and
#    the HIP library too when native-hip/build/librocforge_hip.so is missing;
# 2. `rocforge bench --llama-bench` (pp512, tg128, tg128@b8, tg128@b32; -r 3) for webgpu and hip,
#    fast and exact, on the 1.1B file, then serving: 32 concurrent streams of 128 tokens against
#    llama-server (-np 32 -cb -fa -ngl 99), `rocforge serve --backend hip` and `--backend webgpu`
#    (fast); then the 8B file (fast first, exact last: dropped first when time runs short);
# 3. `rocforge bench summary`: summary.md (every table, ratios) and chart.svg.
# Nothing is measured while anything compiles. Each step that fails prints one line and the script
# goes on; a step that would end past BUDGET seconds (default 510) is skipped with one line.
# Where: $OUT when set (the device tool's folder: only summary.md, chart.svg, console.log and
# bench-all.tar.gz, because that tool returns few files; the details, flat, are in the tarball),
# else bench/results/<date>-<device>/ with every file flat. To keep a device run, unpack the
# tarball into bench/results/<date>-<device>/.
# Knobs: SIZES="1b 8b" BACKENDS="webgpu hip" NUMERICS="fast exact" BATCH=1,8,32 REPS=3 P=512 N=128
#        SERVE="llama hip webgpu" SERVE_SIZE=1b STREAMS=32 TOKENS=128 BUDGET=510
#        ANCHORS=.device/shared/anchors LLAMA_DIR=/tmp/llama.cpp (a built llama.cpp is used as it is).
# Tried on a CPU (no GPU, llama.cpp built for the CPU):
#   SIZES=tiny SERVE_SIZE=tiny BACKENDS=cpu NUMERICS=exact SERVE="llama cpu" P=64 N=16 BATCH=1,4 \
#   STREAMS=8 TOKENS=16 LLAMA_DIR=~/.cache/rocforge-llama bash bench/device-bench.sh
set -uo pipefail
T0=$SECONDS
SIZES=${SIZES:-1b 8b}
BACKENDS=${BACKENDS:-webgpu hip}
NUMERICS=${NUMERICS:-fast exact}
BATCH=${BATCH:-1,8,32}
REPS=${REPS:-3}
P=${P:-512}
N=${N:-128}
SERVE=${SERVE-llama hip webgpu}
SERVE_SIZE=${SERVE_SIZE:-1b}
STREAMS=${STREAMS:-32}
TOKENS=${TOKENS:-128}
BUDGET=${BUDGET:-510}
ANCHORS=${ANCHORS:-.device/shared/anchors}
LLAMA_DIR=${LLAMA_DIR:-/tmp/llama.cpp}
PORT=${PORT:-18080}

device=$( (nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || rocm-smi --showproductname 2>/dev/null | grep -m1 -o 'Card series:.*') | head -1 | sed 's/^Card series: *//; s/^NVIDIA //' | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')
device=${device:-$(hostname -s)}
if [ -n "${OUT:-}" ]; then
  FINAL=$OUT
  RUN=${RUN_DIR:-/tmp/rocforge-bench-$(date -u +%Y%m%d-%H%M%S)}
else
  FINAL=bench/results/$(date -u +%F)-$device
  RUN=$FINAL
fi
mkdir -p "$FINAL" "$RUN"
exec > >(tee "$FINAL/console.log") 2>&1

stamp() { echo "[$(date -u +%T) +$((SECONDS - T0))s] $*"; }
fail() { echo "FAILED: $*"; }
# fits SECONDS WHAT: whether a step of about SECONDS still ends inside the budget (else says so).
fits() {
  if (( SECONDS - T0 + $1 > BUDGET )); then echo "SKIPPED: $2 (needs ~$1 s, $((BUDGET - SECONDS + T0)) s of the ${BUDGET} s budget left)"; return 1; fi
}
# limit EST: a step's time limit: 3x its estimate, but never past BUDGET + 40 s, so that the summary
# and the tarball are written before the device tool's 10 minutes end.
limit() {
  local rest=$((BUDGET + 40 - SECONDS + T0))
  (( rest < 10 )) && rest=10
  echo $(( $1 * 3 < rest ? $1 * 3 : rest ))
}
cli() { node src/cli/rocforge.mjs "$@"; }
command -v node >/dev/null || { echo "no node on PATH: run '. .device/setup.sh' first"; exit 1; }

stamp "device-bench on $device; details in $RUN, results in $FINAL"
{ nvidia-smi 2>&1 || rocm-smi 2>&1 || echo "no nvidia-smi / rocm-smi"; } > "$RUN/gpu.txt"
{ git log -1 --format='rocforge %H %s' 2>/dev/null; git status --short 2>/dev/null | head -20; } > "$RUN/rocforge-commit.txt"
head -1 "$RUN/rocforge-commit.txt"

# --- builds in the background: llama.cpp (anchors) and, where missing, the HIP library
LLAMA_BENCH=$LLAMA_DIR/build/bin/llama-bench
LLAMA_SERVER=$LLAMA_DIR/build/bin/llama-server
llama_pid=
if [ -x "$LLAMA_BENCH" ] && [ -x "$LLAMA_SERVER" ]; then
  stamp "llama.cpp already built in $LLAMA_DIR"
  if [ ! -x "$LLAMA_DIR/build/bin/llama-batched-bench" ] && [ -f "$LLAMA_DIR/build/CMakeCache.txt" ]; then
    cmake --build "$LLAMA_DIR/build" -j"$(nproc)" --target llama-batched-bench > "$RUN/llama-build.log" 2>&1 &
    llama_pid=$!
  fi
elif [ -f "$ANCHORS/build-llama.sh" ]; then
  stamp "building llama.cpp in the background ($RUN/llama-build.log)"
  # llama-batched-bench too (one more file and a link): llama.cpp's counterpart of tgN@bB.
  ( bash "$ANCHORS/build-llama.sh" "$LLAMA_DIR" && cmake --build "$LLAMA_DIR/build" -j"$(nproc)" --target llama-batched-bench >/dev/null ) > "$RUN/llama-build.log" 2>&1 &
  llama_pid=$!
else
  fail "no $ANCHORS/build-llama.sh: pack the anchors (see the top of this script); rocforge only"
fi
hip_pid=
if [[ " $BACKENDS $SERVE " == *" hip "* ]] && [ ! -f native-hip/build/librocforge_hip.so ]; then
  stamp "building the HIP library in the background ($RUN/build-hip.log)"
  npm run build:hip > "$RUN/build-hip.log" 2>&1 &
  hip_pid=$!
fi

# --- the files, made here by the project's own writer (too large to carry), in parallel
declare -A FILE SYNTH_PID
for size in $SIZES; do
  case $size in
    1b) shape="--dim 2048 --layers 16 --heads 32 --kv-heads 8 --ffn 8192 --vocab 32000" ;;
    8b) shape="--dim 4096 --layers 32 --heads 32 --kv-heads 8 --ffn 14336 --vocab 128256" ;;
    tiny) shape="--dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 --vocab 512" ;; # for trying the script on a CPU
    *) fail "unknown size '$size' (1b, 8b or tiny)"; continue ;;
  esac
  f=/tmp/synth-$size-q4_0.gguf
  FILE[$size]=$f
  if [ ! -s "$f" ]; then
    stamp "synth $size (background)"
    ( cli synth --arch llama $shape --type Q4_0 -q -o "$f.tmp" && mv "$f.tmp" "$f" ) > "$RUN/synth-$size.log" 2>&1 &
    SYNTH_PID[$size]=$!
  fi
done
for size in "${!SYNTH_PID[@]}"; do
  wait "${SYNTH_PID[$size]}" && stamp "$(tail -1 "$RUN/synth-$size.log")" || { fail "synth $size: $(tail -1 "$RUN/synth-$size.log")"; unset "FILE[$size]"; }
done

HAVE_LLAMA=0
if [ -n "$llama_pid" ]; then
  stamp "waiting for the llama.cpp build"
  if wait "$llama_pid"; then grep -m1 '^built' "$RUN/llama-build.log"; else fail "llama.cpp build: $(tail -1 "$RUN/llama-build.log")"; fi
fi
[ -x "$LLAMA_BENCH" ] && HAVE_LLAMA=1
HAVE_HIP=1
if [ -n "$hip_pid" ]; then
  stamp "waiting for the HIP build"
  wait "$hip_pid" && tail -1 "$RUN/build-hip.log" || { fail "HIP build: $(grep -m1 -i error "$RUN/build-hip.log" || tail -1 "$RUN/build-hip.log"); no hip runs"; HAVE_HIP=0; }
fi

# bench SIZE BACKEND NUMERICS: one `rocforge bench` run; llama.cpp beside it on the first run per file.
declare -A LLAMA_DONE
bench() {
  local size=$1 backend=$2 numerics=$3 est=$4 name="bench-$2-$3-$1"
  local f=${FILE[$size]:-}
  [[ " $SIZES " == *" $size "* ]] || return 0
  [ -n "$f" ] || { echo "SKIPPED: $name (no $size file)"; return 0; }
  [ "$backend" = hip ] && [ "$HAVE_HIP" = 0 ] && { echo "SKIPPED: $name (no HIP library)"; return 0; }
  local extra=()
  if [ "$HAVE_LLAMA" = 1 ] && [ -z "${LLAMA_DONE[$size]:-}" ]; then extra=(--llama-bench "$LLAMA_BENCH"); est=$((est + 20)); fi
  fits "$est" "$name" || return 0
  stamp "$name${extra:+ (with llama.cpp)}"
  # llama.cpp runs once per file (its figures do not depend on rocforge's backend); when it fails,
  # rocforge's figures are still in the JSON and the summary says why llama.cpp's are missing.
  [ ${#extra[@]} -gt 0 ] && LLAMA_DONE[$size]=1
  timeout "$(limit "$est")" node src/cli/rocforge.mjs bench -m "$f" --backend "$backend" --numerics "$numerics" -p "$P" -n "$N" --batch "$BATCH" -r "$REPS" \
    "${extra[@]}" --json "$RUN/$name.json" --svg "$RUN/$name.svg" > "$RUN/$name.md" 2> "$RUN/$name.err" ||
    fail "$name (exit $?): $(grep -v '^rocforge bench: running' "$RUN/$name.err" | tail -1)"
  cat "$RUN/$name.md"
}

# wait_healthy URL PID: until GET URL/health is 200, the server exits, or 120 s pass.
wait_healthy() { node bench/wait-healthy.mjs "$1" "$2" 120; }

# serve NAME LABEL COMMAND...: starts the server, a short warm-up, then STREAMS streams of TOKENS.
serve() {
  local name=$1 label=$2; shift 2
  [ -n "${FILE[$SERVE_SIZE]:-}" ] || { echo "SKIPPED: serve-$name (no $SERVE_SIZE file)"; return 0; }
  fits 40 "serve-$name" || return 0
  stamp "serve-$name: $STREAMS streams x $TOKENS tokens"
  local url=http://127.0.0.1:$PORT
  "$@" > "$RUN/serve-$name.log" 2>&1 &
  local pid=$!
  if wait_healthy "$url" "$pid" 2> "$RUN/serve-$name.health"; then
    local common=(--url "$url" --clients "$STREAMS" --requests "$STREAMS" --endpoint completions --ignore-eos --temperature 0.8)
    timeout "$(limit 20)" node src/cli/rocforge.mjs bench serve "${common[@]}" --max-tokens 8 --duration 30 > /dev/null 2> "$RUN/serve-$name-warmup.txt" ||
      fail "serve-$name warm-up: $(tail -1 "$RUN/serve-$name-warmup.txt")"
    if timeout "$(limit 30)" node src/cli/rocforge.mjs bench serve "${common[@]}" --max-tokens "$TOKENS" --duration 80 --label "$label" \
      --json "$RUN/serve-$name-$SERVE_SIZE.json" > /dev/null 2> "$RUN/serve-$name-$SERVE_SIZE.txt"; then
      grep -E 'generated tokens/s|time to first|inter-token' "$RUN/serve-$name-$SERVE_SIZE.txt"
    else
      fail "serve-$name: $(tail -1 "$RUN/serve-$name-$SERVE_SIZE.txt")"
    fi
  else
    fail "serve-$name: $(tail -1 "$RUN/serve-$name.health"); server log: $(tail -1 "$RUN/serve-$name.log")"
  fi
  kill -TERM "$pid" 2>/dev/null
  # llama-server and rocforge serve stop on SIGTERM; do not wait forever for one that does not.
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  PORT=$((PORT + 1))
}

# --- the 1.1B file (and tiny, when asked for): every backend and numerics, then serving
for size in tiny 1b; do for backend in $BACKENDS; do for numerics in $NUMERICS; do bench "$size" "$backend" "$numerics" 30; done; done; done
# llama-server's -c is shared by its -np slots: 256 cells each hold the prompt and TOKENS tokens.
ctx_llama=$((STREAMS * 256))
for s in $SERVE; do
  case $s in
    llama)
      if [ -x "$LLAMA_SERVER" ]; then
        # c392e50's -fa is a switch (later llama.cpp spells it -fa on).
        serve llama-server "llama-server" "$LLAMA_SERVER" -m "${FILE[$SERVE_SIZE]:-/nonexistent}" -np "$STREAMS" -cb -fa -ngl 99 -c "$ctx_llama" --port "$PORT"
      else
        echo "SKIPPED: serve-llama-server (no llama.cpp build)"
      fi ;;
    hip | webgpu | cpu)
      if [ "$s" = hip ] && [ "$HAVE_HIP" = 0 ]; then echo "SKIPPED: serve-rocforge-hip (no HIP library)"; continue; fi
      serve "rocforge-$s-fast" "rocforge $s fast" node src/cli/rocforge.mjs serve -m "${FILE[$SERVE_SIZE]:-/nonexistent}" --backend "$s" --numerics fast -np "$STREAMS" -c 256 --port "$PORT" ;;
    *) fail "unknown server '$s' (llama, hip, webgpu, cpu)" ;;
  esac
done
# --- the 8B file: fast numerics first, exact last (the first to go when the budget runs short)
for numerics in $NUMERICS; do for backend in $BACKENDS; do bench 8b "$backend" "$numerics" 60; done; done

# --- summary, chart, tarball
stamp "summary"
shopt -s nullglob
reports=("$RUN"/bench-*.json "$RUN"/serve-*-"$SERVE_SIZE".json)
if [ ${#reports[@]} -gt 0 ]; then
  cli bench summary "${reports[@]}" --title "rocforge vs llama.cpp on $device, $(date -u +%F)" --md "$RUN/summary.md" --svg "$RUN/chart.svg" 2> "$RUN/summary.err" ||
    fail "summary: $(tail -1 "$RUN/summary.err")"
else
  fail "no reports to summarize"
fi
stamp "done in $((SECONDS - T0)) s"
tar -czf /tmp/bench-all.$$.tar.gz -C "$RUN" . && mv /tmp/bench-all.$$.tar.gz "$FINAL/bench-all.tar.gz" || fail "tarball"
if [ "$RUN" != "$FINAL" ]; then
  for f in summary.md chart.svg; do [ -f "$RUN/$f" ] && cp "$RUN/$f" "$FINAL/$f"; done
fi
echo "results: $FINAL ($(ls "$FINAL" | tr '\n' ' '))"
