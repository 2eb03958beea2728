"""Every `rrm` command facing an unreachable database, a missing or a broken config: one line.

In process, through the command line's entry point (`bot.cli.main`): what a person sees is
standard error and the exit status, and those are what is checked.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.conftest import example_config_text

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


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line(
    command: list[str], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    text = (
        example_config_text()
        .replace('url = "sqlite:///rrm.db"', f'url = "{UNREACHABLE}"')
        .replace('\nsecret = ""', '\nsecret = "a-dashboard-secret-of-32-characters"')
    )
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    (tmp_path / "FOLDER").mkdir()
    argv = [a.replace("FOLDER", str(tmp_path / "FOLDER")) for a in command]
    line = one_line(["--config", str(path), *argv], capsys, monkeypatch)
    assert "cannot open database" in line
    assert "hidden-password" not in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_or_broken_config_is_one_line_naming_the_file(
    command: list[str], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    missing = tmp_path / "nowhere.toml"
    assert str(missing) in one_line(["--config", str(missing), *command], capsys, monkeypatch)
    broken = tmp_path / "broken.toml"
    broken.write_text("[database\nurl = 3\n", "utf-8")
    assert str(broken) in one_line(["--config", str(broken), *command], capsys, monkeypatch)
