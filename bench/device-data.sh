#!/usr/bin/env bash
# Here (not on the GPU machine): splits the test data of ../shared into carry sets small enough for
# the device tool (64 MiB a call, the working tree included), so that the whole oracle can be
# checked there over a few back-to-back calls while the machine stays warm:
#   bash bench/device-data.sh            -> .dset0 (small: oracles, vocab, templates, small models), .dset1..N
# On the GPU machine, each call that carries a set merges it into one tree:
#   mkdir -p /tmp/sh && cp -r .dsetK/. /tmp/sh/ && export ROCFORGE_SHARED=/tmp/sh
# /tmp survives between calls only while the machine stays warm (about 30 s after a call).
set -euo pipefail
shared=${ROCFORGE_SHARED:-../shared}
cap0=${CAP0:-9500000}   # the first set travels with .device (~50 MB)
cap=${CAP:-56000000}
rm -rf .dset[0-9]*
mkdir -p .dset0
# Small, always-needed files first.
for d in oracle new-archs/oracle templates; do
  [ -d "$shared/$d" ] && mkdir -p ".dset0/$d" && cp -r "$shared/$d/." ".dset0/$d/"
done
used=$(du -sb .dset0 | cut -f1)
declare -a size=()
n=0
# Models, largest first, first fit.
while read -r bytes path; do
  rel=${path#"$shared"/}
  placed=
  if (( used + bytes <= cap0 )); then
    mkdir -p ".dset0/$(dirname "$rel")"; cp "$path" ".dset0/$rel"; used=$((used + bytes)); placed=1
  else
    for ((k = 1; k <= n; k++)); do
      if (( size[k] + bytes <= cap )); then
        mkdir -p ".dset$k/$(dirname "$rel")"; cp "$path" ".dset$k/$rel"; size[k]=$((size[k] + bytes)); placed=1; break
      fi
    done
  fi
  if [ -z "$placed" ]; then
    n=$((n + 1)); size[n]=$bytes
    mkdir -p ".dset$n/$(dirname "$rel")"; cp "$path" ".dset$n/$rel"
  fi
done < <(find "$shared/models" "$shared/new-archs/models" -name '*.gguf' -printf '%s %p\n' | sort -rn)
for s in .dset[0-9]*; do echo "$s: $(find "$s" -name '*.gguf' | wc -l) models, $(du -sh "$s" | cut -f1)"; done
