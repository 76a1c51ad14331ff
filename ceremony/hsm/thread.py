"""The one HSM thread of the process.

python-pkcs11 initialises the module without OS locking and releases the GIL during calls;
SoftHSM then runs without mutexes, and two threads inside it at once crash the process even
with separate sessions (DESIGN.md section 5). So every PKCS#11 call of every front end and
every HsmService goes through this single-worker executor.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ceremony.awaiting import settled

T = TypeVar("T")

THREAD_NAME = "hsm"
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)
        return _executor


def on_hsm_thread() -> bool:
    return threading.current_thread().name.startswith(f"{THREAD_NAME}_")


def require_hsm_thread() -> None:
    """Guard for code that touches pkcs11: fail loudly off the HSM thread."""
    if not on_hsm_thread():
        raise RuntimeError("PKCS#11 call attempted outside the HSM thread")


def submit(fn: Callable[..., T], *args, **kwargs) -> Future[T]:
    return _get_executor().submit(fn, *args, **kwargs)


def run(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run `fn` on the HSM thread and wait; runs inline when already there."""
    if on_hsm_thread():
        return fn(*args, **kwargs)
    return submit(fn, *args, **kwargs).result()


async def call(fn: Callable[..., T], *args, **kwargs) -> T:
    """Await `fn` on the HSM thread without blocking the event loop.

    Cancelled while `fn` runs (Ctrl-C during a key generation), it still waits, without
    blocking the loop, for `fn` to end before the cancellation goes on: a PKCS#11 call cannot
    be stopped halfway, and what follows a cancellation (journaling it, closing the session)
    must not run while the token is still busy with it.
    """
    return await settled(asyncio.wrap_future(submit(fn, *args, **kwargs)))
