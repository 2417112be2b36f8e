#!/usr/bin/env bash
# Run THERE, on a lent GPU machine, after scripts/gpu-prepare.sh here (carry .gpu):
#   bash scripts/gpu-checks.sh tests    # tests/trainer/test_cuda.py, the DPO and QLoRA tests (~3 min)
#   bash scripts/gpu-checks.sh bench    # bench/trainer_throughput.py, both model shapes (~5 min)
#   bash scripts/gpu-checks.sh memory   # bench/memory_estimate.py: estimate against measured peak
#   bash scripts/gpu-checks.sh loss     # bench/label_only_loss.py: time and peak memory of the two losses
#   bash scripts/gpu-checks.sh fsdp     # QLoRA + FSDP on 2 GPUs (test_sharding.py; needs 2 or more GPUs)
# Logs and results go to $OUT (the device tool brings that folder back), else to .gpu/out.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-.gpu/out}"
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/wheels/*.whl \
  || { echo "could not install the carried wheels; run scripts/gpu-prepare.sh first"; exit 1; }
export PYTHONPATH="/tmp/site:$PWD/.gpu/site:$PWD/python-runtime" PYTHONUNBUFFERED=1 TUNEDECK_PYTHON=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, transformers, peft, trl, bitsandbytes as b; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'peft', peft.__version__, 'trl', trl.__version__, 'bitsandbytes', b.__version__)" | tee -a "$out/gpu.txt"
case "${1:-tests}" in
  tests) python3 -m pytest -q -p no:cacheprovider tests/trainer/test_cuda.py tests/trainer/test_dpo.py tests/trainer/test_kto.py \
           tests/trainer/test_qlora.py tests/trainer/test_oom.py 2>&1 | tee "$out/tests.log" ;;
  bench) python3 bench/trainer_throughput.py --dataset .gpu/data/alpaca_en_demo.json --work-dir /tmp/bench \
           --out "$out/throughput.json" 2>&1 | tee "$out/bench.log" ;;
  memory) python3 bench/memory_estimate.py --dataset .gpu/data/alpaca_en_demo.json --out "$out/memory.json" \
           2>&1 | tee "$out/memory.log" ;;
  loss) python3 bench/label_only_loss.py 2>&1 | tee "$out/loss.log" ;;
  fsdp) python3 -m pytest -q -s -p no:cacheprovider tests/trainer/test_sharding.py -k "gpus" -rs 2>&1 | tee "$out/fsdp.log" ;;
  *) echo "usage: bash scripts/gpu-checks.sh tests|bench|memory|loss|fsdp"; exit 2 ;;
esac
