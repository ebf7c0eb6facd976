"""Loading the training stack without freezing the app's window (measured in docs/ARCHITECTURE.md).

``trainer.api.warm_up`` runs these in the training process before the first job: torch's import
makes millions of objects and maps large shared libraries while holding the GIL, and librosa's
numba functions compile on first use; each held the GIL for 0.1-0.35 s at a time.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def no_collection_pauses():
    """Import torch without full garbage collections, then freeze what it made.

    Importing torch and torchvision creates millions of objects; the cyclic collector's
    passes over them (0.1-0.2 s each, holding the GIL) froze the app's window while a
    worker imported. Collections are off during the import and the objects it made are
    moved to the permanent generation (``gc.freeze``), so no later pass scans them either;
    reference counting still frees them as usual.
    """
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


# (package, shared library inside it): the big ones ``import torch`` and torchvision's model
# zoo (through torch._dynamo and triton) map
HEAVY_LIBRARIES = (("torch", "lib/libtorch_cpu.so"), ("torch", "lib/libtorch_cuda.so"),
                   ("triton", "_C/libtriton.so"), ("torchvision", "_C_stable.so"))


def preload_torch_libraries() -> None:
    """Map the training stack's big shared libraries without holding the GIL.

    ``import torch`` (and torchvision, triton) load them through Python's extension loader,
    which holds the GIL for the whole ``dlopen``: 0.15-0.35 s each during which no other
    thread runs, so the app's window froze although the import ran in a worker thread.
    ``dlopen`` called through ctypes releases the GIL; the imports then find the libraries
    already loaded (same path). Linux only; any failure is left for the import to report.
    """
    import sys

    if "torch" in sys.modules or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import importlib.util
        import os

        libc = ctypes.CDLL(None)
        libc.dlopen.restype = ctypes.c_void_p
        libc.dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
        for package, relative in HEAVY_LIBRARIES:
            spec = importlib.util.find_spec(package)     # finds, does not import
            if spec is None or not spec.origin:
                continue
            path = os.path.join(os.path.dirname(spec.origin), relative)
            if os.path.exists(path):
                libc.dlopen(path.encode(), os.RTLD_NOW)   # a ctypes call: the GIL is released
    except (OSError, AttributeError, ValueError, ImportError):
        return


def warm_augmentations() -> None:
    """Load librosa and its numba-compiled functions (pitch shift, time stretch) now, in the
    warm-up's thread and without collections: their first load holds the GIL 0.1-0.3 s at a
    time, which otherwise froze the window during the first augmentation preview."""
    import numpy as np

    from trainer.augment.vocoder import pitch_shift

    pitch_shift(np.zeros(4096, dtype=np.float32), sample_rate_hz=16000, n_steps=1.0, n_fft=512)
