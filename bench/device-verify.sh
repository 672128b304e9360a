#!/usr/bin/env bash
# The correctness matrix on the GPU machine, after `. .device/setup.sh` with the whole of ../shared
# at $ROCFORGE_SHARED (see bench/device-data.sh) and `npm run build:hip` done:
#   STAGES="hip longweb e2e fuzz diff" JOBS=6 [FUZZ_SHARD=1/3] bash bench/device-verify.sh
# hip:     per-op, exact-kernel, graph and fault tests on hip; llama.cpp's oracle on hip for every
#          model (short and long prompts); the three-way cpu = webgpu = hip test over every model of
#          models/ and new-archs/models/, sharded by family into JOBS parallel processes.
# longweb: the long-prompt oracle of the new architectures on webgpu (exact).
# e2e:     test/e2e with every GPU backend required.
# fuzz:    the cross-backend prompt fuzzing (cpu, webgpu, hip) over every model of models/.
# diff:    rocforge diff cpu,webgpu,hip on two files in exact and fast numerics, and diff --oracle on
#          hip for every long-prompt oracle file.
# Each stage's log goes to $OUT/verify/; summary.txt collects the verdict lines; verify.tar.gz has all.
set -uo pipefail
OUT=${OUT:-/tmp/rocforge-out}
V=$OUT/verify
mkdir -p "$V"
STAGES=${STAGES:-hip longweb e2e fuzz diff}
JOBS=${JOBS:-6}
S=${ROCFORGE_SHARED:?set ROCFORGE_SHARED}
has() { [[ " $STAGES " == *" $1 "* ]]; }
stamp() { echo "[$(date +%T)] $*" | tee -a "$V/summary.txt"; }
export ROCFORGE_REQUIRE_HIP=1 ROCFORGE_REQUIRE_WEBGPU=1 ROCFORGE_ORACLE_FULL=1
vt() { npx vitest run --reporter=verbose "$@"; }
verdict() { grep -aE "Test Files|Tests  |FAIL|×|three-way |hip oracle|skipped:" "$1" | sed "s|^|  $(basename "$1" .log): |" | tee -a "$V/summary.txt"; }

pids=()
if has hip; then
  stamp "hip: tests and oracles"
  vt test/native-hip test/backends/hip/{device,exact,ops,executor,graph-cache,new-ops,oracle,long-oracle,new-archs}.test.ts > "$V/hip-tests.log" 2>&1 &
  pids+=($!)
  k=0
  for fam in '^stories260K' '^synth-llama-256' '^synth-qwen2-256' '^synth-llama3' '^synth-gemma2' '^synth-phi3'; do
    ROCFORGE_HIP_MODELS=$fam vt test/backends/hip/three-way.test.ts > "$V/three-way-$k.log" 2>&1 &
    pids+=($!)
    k=$((k + 1))
  done
fi
if has longweb; then
  stamp "longweb: webgpu long-prompt oracle, new architectures"
  vt test/model/long-oracle-new-archs.test.ts -t webgpu > "$V/longweb.log" 2>&1 &
  pids+=($!)
fi
for p in "${pids[@]}"; do wait "$p"; done
for f in "$V"/hip-tests.log "$V"/three-way-*.log "$V"/longweb.log; do [ -f "$f" ] && verdict "$f"; done

if has e2e; then
  stamp "e2e: every GPU backend"
  vt test/e2e > "$V/e2e.log" 2>&1
  verdict "$V/e2e.log"
fi
if has fuzz; then
  stamp "fuzz: cpu, webgpu, hip over every model"
  # Over every model this outlasts one 10-minute device call: FUZZ_SHARD=1/3 (then 2/3, 3/3) runs a part.
  vt ${FUZZ_SHARD:+--shard=$FUZZ_SHARD} test/property/fuzz-engine.test.ts test/property/fuzz-stories.test.ts test/property/fuzz-synth-llama.test.ts test/property/fuzz-synth-qwen2.test.ts > "$V/fuzz.log" 2>&1
  grep -aE "seed|fuzz" "$V/fuzz.log" | head -20 >> "$V/summary.txt"
  verdict "$V/fuzz.log"
fi
if has diff; then
  stamp "diff: cpu,webgpu,hip"
  for m in synth-llama-256-Q4_K_M stories260K-Q4_K_M; do
    for n in exact fast; do
      node src/cli/rocforge.mjs diff -m "$S/models/$m.gguf" --backends cpu,webgpu,hip --numerics $n \
        --prompts "$S/oracle/prompts.json" --json "$V/diff-$m-$n.json" --html "$V/diff-$m-$n.html" > "$V/diff-$m-$n.txt" 2>&1
      echo "  diff $m $n: exit $? $(grep -a 'summary' "$V/diff-$m-$n.txt" | tail -1)" | tee -a "$V/summary.txt"
    done
  done
  for o in "$S"/oracle/long/*.json "$S"/new-archs/oracle/long/*.json; do
    b=$(basename "$o" .json); [ "$b" = prompts ] && continue
    d=$(dirname "$(dirname "$(dirname "$o")")"); m="$d/models/$b.gguf"
    [ -f "$m" ] || continue
    node src/cli/rocforge.mjs diff -m "$m" --backends hip --oracle "$o" > "$V/oracle-long-hip-$b.txt" 2>&1
    echo "  diff --oracle long hip $b: exit $? $(grep -a 'summary' "$V/oracle-long-hip-$b.txt" | tail -1)" | tee -a "$V/summary.txt"
  done
fi
stamp done
tar -czf "$OUT/verify.tar.gz" -C "$OUT" verify
cp "$V/summary.txt" "$OUT/summary.txt"
