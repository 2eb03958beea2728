"""Every `rrm` command facing an unreachable or too new database, or a bad config: one line.

In process, through the command line's entry point (`bot.cli.main`): what a person sees is
standard error and the exit status, and those are what is checked.
"""

from __future__ import annotations

import gc
import io
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.cli import main
from ground.storage.database import Database
from tests.conftest import ROOT, example_config_text

UNREACHABLE = "postgresql://rrm:hidden-password@127.0.0.1:1/rrm"

COMMANDS = [
    ["db", "upgrade"],
    ["stats"],
    ["experts"],
    ["kb", "search", "apprenticeship"],
    ["kb", "import", "FOLDER"],
    ["kb", "drafts", "list"],
    ["kb", "drafts", "export", "FOLDER"],
    ["kb", "calibrate", "--dry-run"],
    ["ask", "What is a shared apprenticeship?"],
    ["privacy", "export", "telegram:1"],
    ["privacy", "erase", "telegram:1", "--yes"],
    ["privacy", "expire"],
    ["coordinator", "add", "anna"],
    ["coordinator", "remove", "anna"],
    ["dashboard"],
]


def one_line(argv: list[str], capsys: Any, monkeypatch: Any) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    status = main(argv)
    err = capsys.readouterr().err
    assert status != 0, argv
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rrm: "), (argv, err)
    return lines[0]


def config_on(database_url: str, folder: Path) -> Path:
    text = (
        example_config_text()
        .replace('url = "sqlite:///rrm.db"', f'url = "{database_url}"')
        .replace('\nsecret = ""', '\nsecret = "a-dashboard-secret-of-32-characters"')
    )
    path = folder / "config.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line(
    command: list[str], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    path = config_on(UNREACHABLE, tmp_path)
    (tmp_path / "FOLDER").mkdir()
    argv = [a.replace("FOLDER", str(tmp_path / "FOLDER")) for a in command]
    line = one_line(["--config", str(path), *argv], capsys, monkeypatch)
    assert "cannot open database" in line
    assert "hidden-password" not in line


def run_refused(config: Path) -> str:
    """`rrm run` as its own process (it sets the process's logging and signals): its last line."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "run"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    return done.stderr.splitlines()[-1]


def test_rrm_run_on_an_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    line = run_refused(config_on(UNREACHABLE, tmp_path))
    assert line.startswith("rrm: cannot open database") and "hidden-password" not in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_or_broken_config_is_one_line_naming_the_file(
    command: list[str], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    missing = tmp_path / "nowhere.toml"
    assert str(missing) in one_line(["--config", str(missing), *command], capsys, monkeypatch)
    broken = tmp_path / "broken.toml"
    broken.write_text("[database\nurl = 3\n", "utf-8")
    assert str(broken) in one_line(["--config", str(broken), *command], capsys, monkeypatch)


@pytest.mark.db
def test_a_database_a_newer_rrm_upgraded_is_refused_in_one_line(
    database_url: str, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    """An older rrm after a newer one (a rollback): refused, named, and no connection left open.

    On PostgreSQL an unclosed connection warns when collected: the explicit collection below
    turns one left open by a refused command into this test's error.
    """
    database = Database(database_url)
    database.upgrade()
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    database.dispose()
    capsys.readouterr()  # the migrations' own log lines
    path = config_on(database_url, tmp_path)
    (tmp_path / "FOLDER").mkdir()
    # As in a fresh process: an in-process `rrm run` of an earlier test may have set INFO.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        for command in COMMANDS:
            argv = [a.replace("FOLDER", str(tmp_path / "FOLDER")) for a in command]
            line = one_line(["--config", str(path), *argv], capsys, monkeypatch)
            assert "revision 9999, newer than this rrm knows" in line, (command, line)
            gc.collect()
    finally:
        root.setLevel(level)
    status = main(["--config", str(path), "doctor"])
    out = capsys.readouterr().out
    assert status == 1 and "FAIL migrations: the database cannot be used" in out, out
    assert "revision 9999, newer than this rrm knows" in run_refused(path)
