"""Ctrl-C in the console of the real ``rrm run``: it stops at once, without waiting for Enter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fakes.console_script import write_config
from tests.reliability.test_crash import seed

pytestmark = pytest.mark.db


async def test_ctrl_c_in_the_console_stops_at_once(
    tmp_path: Path, database_url: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, database_url)
    await seed(config, embedder)
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run"],
        cwd=ROOT,
        # A terminal nobody types into: the read of standard input stays pending.
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert bot.stdout is not None and bot.stdin is not None
    try:
        for line in bot.stdout:
            if line.startswith("RRM console."):
                break
        bot.send_signal(signal.SIGINT)
        # Generous for a busy machine: before the change it waited for Enter forever.
        code = bot.wait(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
        bot.stdin.close()
        bot.stdout.close()
        stderr = bot.stderr.read() if bot.stderr else ""
        if bot.stderr:
            bot.stderr.close()
    assert code == 0, stderr[-3000:]
    assert "Stopping" in stderr
