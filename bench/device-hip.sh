#!/usr/bin/env bash
# One call on the GPU machine (after `. .device/setup.sh`): build the HIP library, run the HIP tests
# (ops, exact kernels, oracle, three-way cpu/webgpu/hip), the e2e server suite on hip, and the
# llama-bench-style speed tests on rocforge-synth files. Logs go to $OUT (the device tool's folder).
#   STAGES="build test e2e bench" bash bench/device-hip.sh
#   SIZES="1b 8b" picks the benchmark files (1b: 1.1B Q4_0, 8b: 8B Q4_0, the shapes).
set -uo pipefail
OUT=${OUT:-/tmp/rocforge-out}
mkdir -p "$OUT"
STAGES=${STAGES:-build test e2e bench}
SIZES=${SIZES:-1b}
REPS=${REPS:-3}
has() { [[ " $STAGES " == *" $1 "* ]]; }
stamp() { echo "[$(date +%T)] $*"; }

if has build; then
  stamp build
  npm run build:hip > "$OUT/build-hip.log" 2>&1 || { tail -30 "$OUT/build-hip.log"; exit 1; }
  tail -3 "$OUT/build-hip.log"
fi
if has test; then
  stamp test
  ROCFORGE_REQUIRE_HIP=1 ROCFORGE_REQUIRE_WEBGPU=1 npx vitest run test/backends/hip test/native-hip > "$OUT/hip-tests.log" 2>&1
  grep -E "✓|✗|×|FAIL|Test Files|Tests  |skipped" "$OUT/hip-tests.log" | tail -60
fi
if has e2e; then
  stamp e2e
  ROCFORGE_REQUIRE_HIP=1 ROCFORGE_REQUIRE_WEBGPU=1 npx vitest run test/e2e > "$OUT/e2e.log" 2>&1
  grep -E "Test Files|Tests  |FAIL|×" "$OUT/e2e.log" | tail -20
fi
if has bench; then
  for size in $SIZES; do
    case $size in
      1b) shape="--dim 2048 --layers 16 --heads 32 --kv-heads 8 --ffn 8192 --vocab 32000" ;;
      8b) shape="--dim 4096 --layers 32 --heads 32 --kv-heads 8 --ffn 14336 --vocab 128256" ;;
      *) echo "unknown size $size"; continue ;;
    esac
    f=/tmp/synth-$size-q4_0.gguf
    [ -f "$f" ] || { stamp "synth $size"; node src/cli/rocforge.mjs synth --arch llama $shape --type Q4_0 -o "$f" 2>/dev/null; }
    for numerics in fast exact; do
      stamp "bench hip $numerics $size"
      node src/cli/rocforge.mjs bench -m "$f" --backend hip --numerics "$numerics" -p 512 -n 128 -r "$REPS" -o json \
        > "$OUT/bench-hip-$numerics-$size.json" 2> "$OUT/bench-hip-$numerics-$size.err" || tail -5 "$OUT/bench-hip-$numerics-$size.err"
      node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));for(const t of (Array.isArray(r)?r:r.results??[r]))console.log(JSON.stringify(t))' "$OUT/bench-hip-$numerics-$size.json" 2>/dev/null | cut -c1-400
    done
  done
fi
stamp done
