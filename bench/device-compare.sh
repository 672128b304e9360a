#!/usr/bin/env bash
# Kept for the commands in older notes: the speed comparison is now part of bench/device-bench.sh
# (same knobs: SIZES, BACKENDS, NUMERICS, REPS); this runs it without the serving test.
#   SIZES="1b 8b" BACKENDS="hip" NUMERICS="fast exact" REPS=3 bash bench/device-compare.sh
SERVE="${SERVE-}" BACKENDS=${BACKENDS:-hip} exec bash "$(dirname "$0")/device-bench.sh" "$@"
