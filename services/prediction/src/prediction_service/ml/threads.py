"""Native thread limits for scikit-learn/numpy work in this process's worker threads.

On a shared machine OpenMP's spinning threads make HistGradientBoosting many times slower
than one thread, and OpenMP limits are per calling thread, so each worker thread sets its own
limit once.
"""

from __future__ import annotations

import threading

from threadpoolctl import threadpool_limits

_local = threading.local()


def limit_native_threads(limit: int) -> None:
    """Cap OpenMP/BLAS threads used from the current thread (once per thread)."""
    if getattr(_local, "limit", None) == limit:
        return
    threadpool_limits(limits=limit)
    _local.limit = limit
