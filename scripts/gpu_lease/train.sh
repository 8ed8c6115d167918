#!/usr/bin/env bash
# Train default-model stages side by side on one leased GPU for a fixed wall time, then pack their EMA
# weights (fp16) into parts small enough to come back.
#
# Needs, beside the repo: the datasets under carry/ (as folders or as carry/*.tar.gz archives, unpacked
# into carry/ first) and carry/model (a model directory holding the shipped CLIP, tokenizer and the
# components the runs start from); docs/DEFAULT_MODEL.md says how they are made.
# CONFIGS: the folder of run configs (default configs/gpu-lease, the first lease); RUNS: which of its
# configs run (default "decoder decoder-inpaint prior"); EMBED: "DATASET:OUT ..." embedding jobs run first
# (default the first lease's). Writes to $OUT: log.txt and runs.tar.part-* (rejoin: cat runs.tar.part-* > runs.tar).
# MINUTES (default 7) is each run's train.max_minutes; SET_ARGS adds --set overrides to every run
# (a CPU dry run: SET_ARGS='--set train.batch_size=4 --set train.mixed_precision=no').
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
MINUTES=${MINUTES:-7}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python3}
mkdir -p "$OUT" /tmp/gpu-runs
log=$OUT/log.txt
say() { echo "[$(date +%T)] $*" | tee -a "$log"; }

say "preflight"
{ nvidia-smi -L; $PY -c "import torch, transformers, accelerate, safetensors; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'accelerate', accelerate.__version__)"; } >>"$log" 2>&1

CONFIGS=${CONFIGS:-configs/gpu-lease}
RUNS=${RUNS:-decoder decoder-inpaint prior}
EMBED=${EMBED:-carry/emoji64:/tmp/gpu-emb}

# Thousands of small files travel badly: datasets may come as carry/*.tar.gz instead.
for archive in carry/*.tar.gz; do
    [ -f "$archive" ] || continue
    say "unpack $archive"
    tar xzf "$archive" -C carry || { say "unpack failed"; exit 1; }
done

for job in $EMBED; do
    say "embed ${job%%:*} -> ${job#*:} (CLIP image + caption features of every training record)"
    $PY -m unclip.cli.main embed --clip carry/model --data "${job%%:*}" --out "${job#*:}" --hidden \
        --batch-size 512 --num-workers 6 >>"$log" 2>&1 || { say "embed failed"; exit 1; }
done

pids=()
for run in $RUNS; do
    stage=${run%-inpaint}
    $PY -m unclip.cli.main train "$stage" --config "$CONFIGS/$run.toml" --set "train.max_minutes=$MINUTES" ${SET_ARGS:-} \
        >"/tmp/gpu-runs/$run.out" 2>&1 &
    pids+=($!)
    say "started $run (pid $!)"
done
# Watchdog: max_minutes stops each run after its next step; one still running a minute later gets
# SIGTERM (it checkpoints and exits), so the packing below always runs within the lease.
limit=$(awk "BEGIN { print int($MINUTES * 60 + 40) }")
( sleep "$limit"; for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null && echo "watchdog: SIGTERM to $pid" >>"$log"; done ) &
watchdog=$!
status=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || status=1; done
kill "$watchdog" 2>/dev/null
for run in $RUNS; do
    say "--- $run: end of output"
    tail -n 5 "/tmp/gpu-runs/$run.out" >>"$log"
    tail -n 3 "/tmp/gpu-runs/$run/metrics.csv" >>"$log" 2>/dev/null
done
say "training done (status $status); packing"
$PY scripts/gpu_lease/pack.py /tmp/gpu-runs "$OUT" >>"$log" 2>&1 || { say "pack failed"; exit 1; }
nvidia-smi --query-gpu=name,memory.used --format=csv >>"$log" 2>&1
say "done"
exit $status
