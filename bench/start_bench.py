"""How long ``rrm run`` takes from its start to its first poll: the cost of every restart.

Usage: python bench/start_bench.py [--starts 5] [--fiches 3]

Runs the real bot as its own process on Telegram (the Bot API fake on loopback) on a new
SQLite database with the sample fiches, as the crash bench does. The first start imports and
embeds the fiches and is reported apart; each later start is timed from launching the
process to its first ``getUpdates``, then the bot is stopped with SIGTERM. Printed: the first
start, the median and the slowest of the later ones (wall seconds), and the median CPU
seconds a start cost (user + system of the child, read from ``/proc`` at its first poll).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.console_script import write_config  # noqa: E402
from tests.fakes.telegram_server import FakeBotApi  # noqa: E402
from tests.reliability.test_telegram_crash import GROUP, TOKEN, start_rrm, telegram_config  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_start(config: Path, errors: Path, server: FakeBotApi) -> tuple[float, float]:
    """Start the bot, wait for its first poll, stop it; wall and CPU seconds to that poll."""
    polls = len(server.attempts("getUpdates"))
    begun = time.monotonic()
    bot = await start_rrm(config, errors)
    while len(server.attempts("getUpdates")) <= polls:
        if bot.returncode is not None:
            raise SystemExit(f"the bot exited {bot.returncode}:\n{errors.read_text()[-3000:]}")
        await asyncio.sleep(0.01)
    wall, cpu = time.monotonic() - begun, cpu_seconds(bot.pid)
    bot.send_signal(signal.SIGTERM)
    if await bot.wait() != 0:
        raise SystemExit(f"the bot did not stop cleanly:\n{errors.read_text()[-3000:]}")
    return wall, cpu


async def run(starts: int, fiches: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rrm-start-") as name:
        folder = Path(name)
        config = write_config(folder, f"sqlite:///{folder / 'start.db'}", fiches=fiches)
        errors = folder / "err"
        async with FakeBotApi(TOKEN, GROUP) as server:
            telegram_config(config, server)
            first, first_cpu = await one_start(config, errors, server)
            print(f"first start (imports {fiches} fiches): {first:.2f} s, {first_cpu:.2f} s CPU")
            walls, cpus = [], []
            for n in range(starts):
                wall, cpu = await one_start(config, errors, server)
                walls.append(wall)
                cpus.append(cpu)
                print(f"start {n + 1}: {wall:.2f} s, {cpu:.2f} s CPU", flush=True)
    print(
        f"later starts: median {statistics.median(walls):.2f} s (slowest {max(walls):.2f} s), "
        f"median CPU {statistics.median(cpus):.2f} s; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5, help="timed starts after the first")
    parser.add_argument("--fiches", type=int, default=3, help="sample fiches to import")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    asyncio.run(run(args.starts, args.fiches))


if __name__ == "__main__":
    main()
