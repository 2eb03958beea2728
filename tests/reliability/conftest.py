"""No bot process outlives its test, even one that failed half-way."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

import pytest

from tests.reliability.test_telegram_crash import STARTED


@pytest.fixture(autouse=True)
def no_bot_left_running() -> Iterator[None]:
    yield
    for process in STARTED:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
    STARTED.clear()
