#!/usr/bin/env bash
# The GPU path on a CUDA machine, in one go (about 10 minutes on one modern GPU):
#   1. the CUDA tests (pytest -m cuda: tiny models on the GPU, bf16);
#   2. the quickstart (`peftctl train lora_sst2`) in bf16: tokens/s, accuracy, peak GPU memory;
#   3. train_throughput.py: peftctl vs the plain transformers Trainer (same ratios as on CPU?);
#   4. eval_throughput.py: examples/s of generate and rank mode;
#   5. with two or more GPUs: `accelerate launch --num_processes 2` trains one run on two, then
#      train.distributed=fsdp (torchrun) and fsdp_memory.py (ddp vs fsdp memory per GPU).
# Usage: PEFTCTL_DATA_DIR=../shared/data bash benchmarks/gpu_check.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/peftctl-gpu-check}"
mkdir -p "$out"
gpus=$(python -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)")
if [ "$gpus" -lt 1 ]; then
  echo "gpu_check: no CUDA device visible to torch; nothing to check" >&2
  exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'bf16', torch.cuda.is_bf16_supported())"

echo "== 1. CUDA tests"
python -m pytest -q -m cuda tests

echo "== 2. quickstart (precision=auto -> bf16 on a GPU with bf16)"
peftctl train lora_sst2 output_dir="$out/quickstart" --overwrite --quiet
python - "$out/quickstart/run.json" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
t, e = card["training"], card.get("evaluation", {})
print(f"quickstart: {card['device']} precision {card['precision']['chosen']}, "
      f"{t['steps']} steps, {t['tokens_per_second']:,.0f} tok/s, wall {card['wall_seconds']} s, "
      f"memory {card['memory']}, metrics {e.get('metrics')}")
PY

echo "== 3. training throughput vs the plain Trainer"
python benchmarks/train_throughput.py --steps 40 --batch-size 16

echo "== 4. evaluation throughput"
python benchmarks/eval_throughput.py --limit 872 --baseline-limit 64 --batch-size 32

if [ "$gpus" -ge 2 ]; then
  echo "== 5. two GPUs: accelerate launch --num_processes 2"
  accelerate launch --num_processes 2 -m peftctl train lora_sst2 train.max_steps=40 \
    output_dir="$out/two-gpus" --overwrite --quiet
  python -c "import json,sys; c=json.load(open('$out/two-gpus/run.json')); \
print('two GPUs:', c['device'], c['training']['tokens_per_second'], 'tok/s'); \
sys.exit(0 if c['device']['processes'] == 2 else 1)"
  echo "== 5b. two GPUs: train.distributed=fsdp"
  torchrun --nproc_per_node 2 -m peftctl train lora_sst2 train.max_steps=40 \
    train.distributed=fsdp output_dir="$out/two-gpus-fsdp" --overwrite --quiet
  python -c "import json; c=json.load(open('$out/two-gpus-fsdp/run.json')); \
print('fsdp on two GPUs:', c['distributed'], c['training']['tokens_per_second'], 'tok/s')"
  python benchmarks/fsdp_memory.py --processes 2 --steps 20 --batch-size 8
else
  echo "== 5. skipped: one GPU"
fi
