#!/usr/bin/env bash
# Decode speed beside a CPU hog: one busy process per core but one is started next to `pangu run`, which then
# decodes with 1 and with 2 threads, REPS times each. Prints min / median / max decode tokens/s per setting.
# A step of a thread pool that waits for its slowest thread collapses here; ours must not fall below 1 thread.
#   bench/contention.sh [MODEL...]      (default: stories260K and zh-poem-750K from ../shared/models)
set -euo pipefail
cd "$(dirname "$0")/.."
PANGU="${PANGU:-build/pangu}"
REPS="${REPS:-7}"
N="${N:-256}"
HOGS="${HOGS:-1}"
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(../shared/models/stories260K ../shared/models/zh-poem-750K)

hog_pids=()
stop_hogs() { for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_hogs EXIT

rate() {  # decode tokens/s of one run
  "$PANGU" run -m "$1" -p "Once" -n "$N" --greedy --ignore-eos -t "$2" 2>&1 >/dev/null |
    sed -n 's/.*decode: .*(\([0-9.]*\) tokens\/s).*/\1/p'
}

summary() { sort -n | awk '{a[NR]=$1} END {printf "min %9.1f  median %9.1f  max %9.1f\n", a[1], a[int((NR+1)/2)], a[NR]}'; }

echo "machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
for hogs in 0 "$HOGS"; do
  stop_hogs; hog_pids=()
  for ((i = 0; i < hogs; i++)); do (while :; do :; done) & hog_pids+=($!); done
  sleep 0.5
  echo "== $hogs busy process(es) beside pangu; $N tokens, $REPS runs each"
  for m in "${models[@]}"; do
    for t in 1 2; do
      printf '%-14s -t %d  ' "$(basename "$m")" "$t"
      for ((r = 0; r < REPS; r++)); do rate "$m" "$t"; done | summary
    done
  done
done
