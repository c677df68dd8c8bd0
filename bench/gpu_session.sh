#!/usr/bin/env bash
# The whole GPU session, prepared to run once on a lent card (bench/README: "GPU"), in two phases
# so that each fits one call:  bash bench/gpu_session.sh speed   then   bash bench/gpu_session.sh quality
# Textual and platformdirs travel as wheels in .whl/ (the card's image has torch, not them).
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
case "${1:-speed}" in
  speed)
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT/card.txt"
    python3 -c "import torch, textual, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.backends.cudnn.version(), torch.cuda.get_device_name(), 'textual', textual.__version__)" | tee -a "$OUT/card.txt"
    timeout 280 python3 bench/gpu.py ${GPU_ARGS:-} 2>&1 | tee "$OUT/gpu.txt"
    [ -n "${SKIP_TUI:-}" ] && exit 0
    timeout 110 python3 bench/tui.py --seconds 20 --no-ssh \
      --app-args "--device cuda --layers 2 --hidden-size 512 --batch-size 128 --precision bf16" 2>&1 | tee "$OUT/tui.txt"
    ;;
  quality)
    timeout 350 python3 bench/gpu_quality.py --minutes 5 --out /tmp/curves 2>&1 | tee "$OUT/quality.txt"
    tar czf "$OUT/curves.tgz" -C /tmp curves
    nvidia-smi --query-gpu=name,temperature.gpu,clocks.sm --format=csv | tee -a "$OUT/quality.txt"
    ;;
esac
