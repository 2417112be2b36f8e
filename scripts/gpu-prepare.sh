#!/usr/bin/env bash
# Run HERE (a machine with PyPI) before using a lent GPU machine (the `device` tool): gathers
# into .gpu/ (git-ignored, under the 64 MiB a call may carry) what scripts/gpu-checks.sh needs
# there and the GPU image lacks:
#   .gpu/wheels/  the trainer's pinned libraries (requirements.txt) the image has other versions of
#   .gpu/site/    bitsandbytes unpacked with only the CUDA library the image's torch loads
#   .gpu/data/    the Alpaca demo file (../shared does not travel with the working tree)
# Then call the device with carry [".gpu"] and the command `bash scripts/gpu-checks.sh tests`.
set -euo pipefail
cd "$(dirname "$0")/.."
cuda="${BNB_CUDA:-130}"  # the image's torch is built for CUDA 13.0 (see .library/device/KINDS.md)
pin() { grep -E "^$1==" python-runtime/requirements.txt | head -1 | sed 's/;.*//' | tr -d ' '; }
rm -rf .gpu && mkdir -p .gpu/wheels .gpu/site .gpu/data
download() {
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any -d "$1" "${@:2}"
}
# The image's own transformers 5, tokenizers 0.23 and huggingface_hub 1.x do not fit the pins.
download .gpu/wheels "$(pin transformers)" "$(pin peft)" "$(pin trl)" "$(pin accelerate)" "$(pin tokenizers)" \
  huggingface_hub==0.36.2 datasets==5.0.1 dill==0.4.1 multiprocess==0.70.19 jsonschema==4.25.1 \
  jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==0.30.0
download .gpu/bnb "$(pin bitsandbytes)"
python3 -m zipfile -e .gpu/bnb/*.whl .gpu/site
find .gpu/site/bitsandbytes -name 'libbitsandbytes_*.so' ! -name "libbitsandbytes_cuda${cuda}.so" -delete
rm -rf .gpu/bnb
cp ../shared/datasets/alpaca_en_demo.json .gpu/data/
du -sh .gpu
