"""Delivery: the outbox of letters, their channels (email, print batch), the send task and the sweeper.

Other domains call `actionkit.delivery.enqueue(ids)` after the commit that wrote the delivery rows (or
`enqueue_on_commit(ids)` before it); everything else is in `services`.
"""
from __future__ import annotations

from typing import Iterable


def enqueue(ids: Iterable[int]) -> int:
    """Publish a send task per delivery id, after commit; never raises (see services.enqueue)."""
    from actionkit.delivery import services

    return services.enqueue(ids)


def enqueue_on_commit(ids: Iterable[int]) -> None:
    """Publish these delivery ids when the current transaction commits; nothing if it rolls back."""
    from actionkit.delivery import services

    services.enqueue_on_commit(ids)
