"""Awaiting work that must not be left half-done: file writes, fsyncs, PKCS#11 calls.

An engine step can be cancelled at any await (Ctrl-C, a closed wizard). Work already handed to a
thread cannot be stopped halfway, and what follows a cancellation (journaling it, closing the
session) must not overlap it; so `settled` lets such work finish, awaited without blocking the
event loop, before the cancellation goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def settled(work: Awaitable[T]) -> T:
    """Await `work`; when cancelled, let `work` finish (awaited) and then raise the
    cancellation, so nothing it was doing is left half-done behind the caller's back."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # seen: its outcome is the cancellation's to report, not a warning
        raise


async def off_loop(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run blocking `fn` (file I/O, fsync, hashing, rendering) on a worker thread, settled."""
    return await settled(asyncio.to_thread(fn, *args, **kwargs))
