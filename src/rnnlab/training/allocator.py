"""Keep the memory of freed tensors for the next ones instead of handing it back to the operating system.

    reuse_freed_memory()      # once per process, before training (runner/run.py; `reuse_memory=false` skips it)

Why: glibc's malloc serves every block above its mmap threshold (32 MiB at most) with a fresh mmap and unmaps it
again at free. A 784-step batch makes tensors of 51 MB (128 x 784 x 128 floats), so each training step asked the
kernel for new pages and took a page fault, and the zeroing of 4 KiB, on every page it wrote: 800,000 faults a
step for minGRU 2x128 at pixel-MNIST shape. With mmap off and the heap's top kept, the pages stay mapped and
are reused. Measured on Zen 3 (2 cores, quiet, batch 128, 784 steps, width 128, 2 layers; sequences/s, glibc's
default -> reused): LSTM 49.6 -> 79.0, minGRU 36.0 -> 69.6, minGRU without its MLP 2x faster again; the peak
resident memory grows from 1.9-2.2 GB to 3.1-3.2 GB (freed blocks are kept, not returned). The same cost is what
tcmalloc or jemalloc, preloaded, would remove; this needs neither.
"""

from __future__ import annotations

import ctypes
import logging
import platform

log = logging.getLogger(__name__)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)
KEEP_AT_TOP = 512 << 20  # free memory at the heap's top beyond this goes back to the system (trim)


def reuse_freed_memory() -> bool:
    """Serve large blocks from glibc's heap and keep freed ones for reuse; True where it applied (Linux with glibc),
    False elsewhere (macOS, Windows and musl keep their own allocators, which do not unmap at every free)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    applied = bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, KEEP_AT_TOP))
    if not applied:
        log.debug("glibc refused mallopt: freed memory goes back to the system after each large tensor")
    return applied
