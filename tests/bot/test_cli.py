"""The rrm command line, run in-process on a database prepared once for the module."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.assembly import build_triage, import_fiches, open_database
from bot.cli import main
from ground.config import load_config
from ground.storage.database import Database
from tests.conftest import SAMPLE_FICHES, example_config_text

FICHES = [
    "employer-pool-apprenticeships-mayo",
    "vet-dashboard-twente",
    "regional-erasmus-consortium-north-east",
]


@pytest.fixture(scope="module")
def config_path(tmp_path_factory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """A config on its own SQLite database with three fiches, embedded ahead of time."""
    folder = tmp_path_factory.mktemp("cli")
    for fiche in FICHES:
        shutil.copytree(SAMPLE_FICHES / fiche, folder / "fiches" / fiche)
    text = example_config_text().replace(
        'url = "sqlite:///rrm.db"', f'url = "sqlite:///{folder / "cli.db"}"'
    )
    path = folder / "config.toml"
    path.write_text(text, "utf-8")
    config = load_config(path, environ={})
    database = open_database(config)
    import_fiches(config, database, embedder, folder / "fiches")
    build_triage(config, database, embedder)  # stores the topic vectors
    database.dispose()
    return path


def run(
    argv: list[str], capsys, stdin: str | None = None, monkeypatch=None
) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_stream_reads_the_experts_once_and_routes_every_question(  # type: ignore[no-untyped-def]
    config_path, capsys, monkeypatch
) -> None:
    import bot.cli

    reads = []
    real = bot.cli.routing_candidates

    def counted(config, database):  # type: ignore[no-untyped-def]
        reads.append(1)
        return real(config, database)

    monkeypatch.setattr(bot.cli, "routing_candidates", counted)
    question = "What is the deadline to appeal a decision refusing an Erasmus grant?"
    lines = [json.dumps({"text": question})] * 3
    status, out, _ = run(
        ["--config", str(config_path), "ask", "--json", "-"],
        capsys,
        "\n".join(lines) + "\n",
        monkeypatch,
    )
    results = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [r["decision"] for r in results] == ["route"] * 3
    assert all(r["route"]["experts"] for r in results)
    assert reads == [1]


def test_ask_json_stream(config_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps({"text": "How do small firms share apprentices in a rural county?"}),
        json.dumps(
            {
                "text": "Ποιος μπορεί να βοηθήσει τον δήμο μας με μια αίτηση Erasmus+;",
                "language_hint": "el",
            }
        ),
        "this is not json",
        json.dumps({"no_text": 1}),
        json.dumps({"text": "stage aziendale", "language_hint": "it"}),
    ] * 12
    status, out, _ = run(
        ["--config", str(config_path), "ask", "--json", "-"],
        capsys,
        "\n".join(lines) + "\n",
        monkeypatch,
    )
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(lines)
    assert status == 1  # some lines were bad
    first, greek, bad_json, bad_shape, short = results[:5]
    assert first["language"] == "en" and first["decision"] in ("answer", "suggest", "route")
    assert 0.0 <= first["confidence"] <= 1.0
    assert first["fiches"][0]["id"] == "employer-pool-apprenticeships-mayo"
    assert set(first["fiches"][0]) == {"id", "language", "title", "score"}
    assert isinstance(first["elapsed_ms"], float)
    assert greek["language"] == "el"
    assert greek["decision"] == "answer" or greek["route"]["experts"]
    assert bad_json["error"].startswith("line 3:")
    assert "text" in bad_shape["error"]
    assert short["language"] == "it"
    routed = [r for r in results if r.get("decision") in ("suggest", "route")]
    assert all(set(r["route"]) == {"experts", "partners", "fallback"} for r in routed)
    # The routing reasons are a field of their own: one per expert of the route, in order.
    assert all([x["expert"] for x in r["reasons"]] == r["route"]["experts"] for r in routed)
    answered = [r for r in results if r.get("decision") == "answer"]
    assert all(r["route"] is None and r["reasons"] is None for r in answered)
    assert {key for r in results if "error" not in r for key in r} == {
        "language",
        "topic",
        "decision",
        "confidence",
        "fiches",
        "route",
        "reasons",
        "elapsed_ms",
    }


def test_ask_route_names_experts(config_path, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = run(
        [
            "--config",
            str(config_path),
            "ask",
            "--json",
            "Could you recommend a lawyer for a dispute over a school canteen catering contract?",
        ],
        capsys,
    )
    result = json.loads(out)
    assert status == 0 and result["decision"] == "route"
    assert result["route"]["experts"] and result["route"]["fallback"] in (
        "none",
        "english",
        "coordinators",
    )
    # Why each expert would get it, as the question's thread says it.
    reasons = result["reasons"]
    assert [r["expert"] for r in reasons] == result["route"]["experts"]
    assert [r["role"] for r in reasons] == ["primary"] + ["mentioned"] * (len(reasons) - 1)
    for reason in reasons:
        assert set(reason) == {
            "expert",
            "name",
            "role",
            "reads",
            "topic",
            "same_country",
            "load",
            "why",
        }
        if reason["reads"] == "en":
            assert reason["why"].startswith("reads English · ")
        assert reason["why"].endswith(" · 0 open questions")


def test_ask_prints_why_each_expert_would_get_the_question(config_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Portuguese, on appealing an Erasmus+ decision: no fiche answers it, and of the EU
    # funding experts only Lucía reads Portuguese.
    question = (
        "Qual é o prazo legal para recorrer da decisão da agência nacional sobre a nossa "
        "candidatura Erasmus+?"
    )
    status, out, _ = run(["--config", str(config_path), "ask", "--json", question], capsys)
    result = json.loads(out)
    assert status == 0 and result["decision"] != "answer"
    [primary] = result["reasons"]
    assert (primary["expert"], primary["role"], primary["reads"]) == ("lucia", "primary", "pt")
    assert primary["topic"] == "eu-funding" and not primary["same_country"]
    assert primary["why"] == "reads Portuguese · EU funding · 0 open questions"
    status, out, _ = run(["--config", str(config_path), "ask", question], capsys)
    assert status == 0 and f"  primary   {primary['name']} — {primary['why']}" in out


def test_kb_search_and_experts(config_path, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = run(
        [
            "--config",
            str(config_path),
            "kb",
            "search",
            "apprentices",
            "shared",
            "by",
            "small",
            "employers",
        ],
        capsys,
    )
    assert status == 0 and out.splitlines()[0].split()[1] == "employer-pool-apprenticeships-mayo"
    status, out, _ = run(["--config", str(config_path), "experts"], capsys)
    assert status == 0 and "claire" in out and "Claire Dubois" in out and "0/5" in out


def test_kb_import_reports_changes_and_when_a_running_bot_sees_them(  # type: ignore[no-untyped-def]
    config_path, tmp_path, capsys
) -> None:
    fiches = config_path.parent / "fiches"
    command = ["--config", str(config_path), "kb", "import"]
    status, out, _ = run([*command, str(fiches)], capsys)
    assert status == 0
    assert out.splitlines() == [
        "added 0, updated 0, removed 0, unchanged versions 4, skipped fiches 0"
    ]
    extra = tmp_path / "extra"
    (extra / "village-beekeeping-course").mkdir(parents=True)
    (extra / "village-beekeeping-course" / "en.md").write_text(
        "+++\ntitle = 'A beekeeping course run by a village school'\n"
        "topics = ['rural-youth-inclusion']\n+++\nAn example fiche for this test.\n",
        "utf-8",
    )
    status, out, _ = run([*command, str(extra)], capsys)
    assert status == 0
    assert out.splitlines() == [
        "added 1, updated 0, removed 0, unchanged versions 0, skipped fiches 0",
        "a running bot searches the new collection within about 60 seconds",
    ]
    shutil.rmtree(extra / "village-beekeeping-course")
    status, out, err = run([*command, str(extra)], capsys)
    assert status == 1 and out == ""
    assert err.strip().endswith(
        f"would remove all 1 fiches of {extra.resolve()}; if that is meant, use --prune; "
        "nothing was imported"
    )
    status, out, _ = run([*command, str(extra), "--prune"], capsys)
    assert status == 0 and out.splitlines()[0].startswith("added 0, updated 0, removed 1")


def test_kb_import_refuses_bad_collection(config_path, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad" / "no-title"
    bad.mkdir(parents=True)
    (bad / "en.md").write_text("+++\ntopics = ['eu-funding']\n+++\nText\n", "utf-8")
    status, _, err = run(
        ["--config", str(config_path), "kb", "import", str(tmp_path / "bad")], capsys
    )
    assert status == 1
    assert "no-title/en.md:2: missing required key 'title'" in err
    assert "nothing was imported" in err


def test_config_errors_exit_non_zero(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text("[database]\nurl = 5\n", "utf-8")
    status, _, err = run(["--config", str(path), "experts"], capsys)
    assert status == 1
    assert err.strip() == f"rrm: {path}: database.url: expected a string, got int"
    status, _, err = run(["--config", str(tmp_path / "missing.toml"), "db", "upgrade"], capsys)
    assert status == 1 and "file not found" in err


def test_db_upgrade(config_path, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = run(["--config", str(config_path), "db", "upgrade"], capsys)
    head = Database("sqlite://").head_revision()
    assert head and head != "0001"
    assert status == 0 and f"database at revision {head}" in out


def test_run_with_a_channel_that_cannot_start(config_path, tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The console started first is stopped again, and one clear line says what failed."""
    head, telegram = config_path.read_text("utf-8").split("[telegram]\n", 1)
    for key, value in (
        ("enabled", "true"),
        ("token", '"123:NeverLogged"'),
        ("base_url", '"http://127.0.0.1:9/bot"'),  # nothing listens on the discard port
        ("experts_chat_id", "-1001"),
    ):
        telegram = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", telegram, count=1)
    text = head + "[telegram]\n" + telegram
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    status, _, err = run(["--config", str(path), "run"], capsys, stdin="", monkeypatch=monkeypatch)
    assert status == 1
    [line] = [line for line in err.splitlines() if line.startswith("rrm:")]
    assert line.startswith("rrm: the telegram channel could not start:")
    assert "Traceback" not in err and "NeverLogged" not in err


def test_kb_search_refuses_an_empty_query(config_path, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run(["--config", str(config_path), "kb", "search", " ", ""], capsys)
    assert status == 1 and out == ""
    assert err.strip().endswith("kb search: the query is empty; give some words to search for")


def test_a_reader_that_leaves_early_gets_no_traceback(config_path) -> None:  # type: ignore[no-untyped-def]
    """`rrm experts | head -0`: the real console script, its standard output closed at once."""
    rrm = Path(sys.executable).with_name("rrm")
    process = subprocess.Popen(
        [str(rrm), "--config", str(config_path), "experts"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    with process.stderr:
        err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert err == ""


WRITING_COMMANDS = [
    ["db", "upgrade"],
    ["experts"],
    ["stats"],
    ["kb", "search", "apprenticeship"],
    ["kb", "drafts", "list"],
    ["kb", "calibrate", "--dry-run"],
    ["ask", "How do small firms share apprentices in a rural county?"],
    ["privacy", "export", "anna"],
    ["privacy", "expire"],
    ["doctor"],
    ["backup", "BACKUP"],
]


@pytest.mark.parametrize("command", WRITING_COMMANDS, ids=" ".join)
def test_every_command_writing_into_a_closed_pipe_ends_quietly(  # type: ignore[no-untyped-def]
    command, config_path, tmp_path, capsys, monkeypatch
) -> None:
    """`rrm … | head -0` for every command that writes: a real pipe whose reader is gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", encoding="utf-8") as closed_pipe:
        monkeypatch.setattr("sys.stdout", closed_pipe)
        argv = [a.replace("BACKUP", str(tmp_path / "copy.db")) for a in command]
        status = main(["--config", str(config_path), *argv])
        monkeypatch.undo()
    assert status == 141, command
    # Log records other tests' logging set-up lets through are not the command's words.
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Error" not in err and "rrm:" not in err, err
