"""CPython's cyclic garbage collector, paused while a batch builds what it keeps.

The collector runs a full collection each time the objects that survived the last one have grown by
a quarter. Reading a hundred developer accounts builds hundreds of thousands of objects that live
for the whole run (each account's botocore session and clients, with their event handlers and
service models), so it went through all of them again and again: 1.7 of the 4.4 s that reading
100 accounts took, measured. Mercurial pauses it the same way while it builds its large indexes
(`util.nogc`). The pause covers bounded work only (reads, not the minutes of waiting on
CloudFormation that follow), and what it leaves uncollected is collected once it is over.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside; the collector as it was after (a caller that had it off keeps it off)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
