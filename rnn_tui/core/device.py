"""Pick the device and the precision, and describe them for the screen."""

from __future__ import annotations

import functools
import os
import platform

import torch

from rnn_tui.core.errors import DeviceError


def available() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return names


def resolve(name: str = "auto") -> tuple[torch.device, str | None]:
    """Return the device and, when ``auto`` fell back to the CPU, a note saying so."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device()), None
        if "mps" in available():
            return torch.device("mps"), None
        return torch.device("cpu"), "no GPU found (CUDA or MPS); training on the CPU"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"--device {name!r} is not a device name; use auto, cpu, cuda, cuda:N or mps") from None
    have = available()
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name}: CUDA is not available on this machine; available: {', '.join(have)}")
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"--device {name}: there are only {torch.cuda.device_count()} CUDA device(s); "
                f"available: {', '.join(have)}"
            )
        return torch.device("cuda", index), None
    if device.type == "mps" and "mps" not in have:
        raise DeviceError(f"--device mps: MPS is not available on this machine; available: {', '.join(have)}")
    if device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"--device {name}: unsupported; available: {', '.join(have)}")
    return device, None


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True where the CPU has bf16 matrix units (AVX512-BF16 or AMX).

    ``RNN_TUI_CPU_BF16=0/1`` overrides the detection (for tests and odd CPUs).
    """
    forced = os.environ.get("RNN_TUI_CPU_BF16")
    if forced in ("0", "1"):
        return forced == "1"
    if platform.system() != "Linux":
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        return False
    return False


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise DeviceError("--precision bf16: this GPU does not support bfloat16; use fp16 or fp32")
        return torch.bfloat16
    if precision == "fp16":
        if device.type == "cpu":
            raise DeviceError("--precision fp16 is not supported on the CPU; use bf16 or fp32")
        return torch.float16
    # auto: bf16 where it runs fast
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_fast_bf16() else None
    return None


def precision_name(dtype: torch.dtype | None) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    n = torch.get_num_threads()
    return f"CPU, {n} thread{'s' if n != 1 else ''}"


def memory(device: torch.device) -> tuple[int, int] | None:
    """(bytes in use, bytes total) on a GPU, None elsewhere."""
    if device.type != "cuda":
        return None
    free, total = torch.cuda.mem_get_info(device)
    return total - free, total
