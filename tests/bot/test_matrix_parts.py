"""The Matrix channel's parts that need no homeserver: the [matrix] config and message contents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.matrix import MatrixChannel
from bot.channels.matrix_content import (
    KEYCAPS,
    button_number,
    message_content,
    read_relation,
    strip_reply_fallback,
    thread_relation,
)
from bot.channels.matrix_files import read_files
from ground.config import ConfigError, MatrixConfig, load_config
from handlers.events import Button
from tests.bot.test_config import MINIMAL

MATRIX = """
[matrix]
enabled = true
homeserver = "https://matrix.example.org"
user_id = "@rrm:example.org"
experts_room = "#experts:example.org"
"""


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL + text, encoding="utf-8")
    return load_config(path, environ=environ or {})


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_matrix_is_off_by_default_and_needs_nothing(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert config.matrix.enabled is False and config.matrix.homeserver == ""


def test_password_or_token_from_the_environment_and_never_shown(tmp_path: Path) -> None:
    config = load(tmp_path, MATRIX, {"RRM_MATRIX_PASSWORD": "hunter2-secret"})
    assert config.matrix.password == "hunter2-secret"
    assert "hunter2" not in repr(config)
    config = load(
        tmp_path, MATRIX + 'password = "file"\n', {"RRM_MATRIX_ACCESS_TOKEN": "syt_token"}
    )
    assert config.matrix.access_token == "syt_token" and config.matrix.password == "file"
    assert "syt_token" not in repr(config)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (MATRIX, "matrix.password: required when matrix is enabled"),
        (MATRIX.replace("https://matrix.example.org", "matrix.example.org"), "matrix.homeserver"),
        (MATRIX.replace("@rrm:example.org", "rrm"), "matrix.user_id"),
        (MATRIX.replace("#experts:example.org", ""), "matrix.experts_room"),
        (MATRIX.replace("#experts:example.org", "experts"), "matrix.experts_room"),
        (MATRIX + 'password = "CHANGE_ME"\n', "matrix.password: is still a placeholder"),
        (MATRIX + "sync_token = 1\n", "matrix.sync_token: unknown key"),
    ],
)
def test_bad_matrix_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    assert key in error_of(tmp_path, text)


def test_an_expert_s_matrix_identity_is_a_full_user_id(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL + 'identities = { matrix = "claire" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"experts\[0\]\.identities\.matrix: must be a full"):
        load_config(path, environ={})
    path.write_text(MINIMAL + 'identities = { matrix = "@claire:example.org" }\n', "utf-8")
    assert load_config(path, environ={}).experts[0].identities["matrix"] == "@claire:example.org"


def test_message_has_body_and_escaped_html_with_line_breaks() -> None:
    content = message_content("Fish & chips <b>\nsecond line")
    assert content["body"] == "Fish & chips <b>\nsecond line"
    assert content["formatted_body"] == "Fish &amp; chips &lt;b&gt;<br>second line"
    assert content["format"] == "org.matrix.custom.html" and content["msgtype"] == "m.text"
    assert content["m.mentions"] == {"user_ids": []}


def test_mentions_are_pills_and_names_are_escaped() -> None:
    content = message_content(
        "Please answer.",
        title="#3 · eu-funding · IT",
        mentions=[("@claire:example.org", "Claire <Dubois>"), ("console-only", "Jonas")],
    )
    assert content["body"] == "#3 · eu-funding · IT · Claire <Dubois>, Jonas\nPlease answer."
    assert content["formatted_body"] == (
        '<b>#3 · eu-funding · IT</b> · <a href="https://matrix.to/#/@claire:example.org">'
        "Claire &lt;Dubois&gt;</a>, Jonas<br>Please answer."
    )
    assert content["m.mentions"] == {"user_ids": ["@claire:example.org"]}


def test_buttons_are_a_numbered_list() -> None:
    content = message_content("Helpful?", buttons=[Button("Yes", "y"), Button("No <way>", "n")])
    assert content["body"] == "Helpful?\n\n1. Yes\n2. No <way>"
    assert content["formatted_body"] == "Helpful?<ol><li>Yes</li><li>No &lt;way&gt;</li></ol>"


def test_thread_relation_falls_back_to_a_reply() -> None:
    assert thread_relation("$root", "$latest") == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$latest"},
    }


def test_relations_are_read() -> None:
    thread = read_relation({"m.relates_to": thread_relation("$root", "$latest")})
    assert (thread.thread_root, thread.reply_to, thread.replaces) == ("$root", "$latest", None)
    edit = read_relation({"m.relates_to": {"rel_type": "m.replace", "event_id": "$old"}})
    assert (edit.thread_root, edit.replaces) == (None, "$old")
    assert read_relation({"m.relates_to": "nonsense"}).thread_root is None
    assert read_relation({}).reply_to is None


def test_reply_fallback_is_stripped() -> None:
    assert strip_reply_fallback("> <@a:b> question\n> more\n\nmy answer") == "my answer"
    assert strip_reply_fallback("no quote > here") == "no quote > here"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        (" 3. ", 3),
        (KEYCAPS[0], 1),
        ("1\u20e3", 1),
        ("²", None),
        ("two", None),
        ("", None),
    ],
)
def test_button_numbers(text: str, number: int | None) -> None:
    assert button_number(text) == number


def test_a_choice_is_taken_once_but_opening_a_fiche_keeps_the_choices() -> None:
    """The same rule as Telegram's keyboard: reading a fiche leaves the other fiches pressable."""
    channel = MatrixChannel(MatrixConfig())
    fiches = (Button("Mayo", "fiche:7:0"), Button("Lot", "fiche:7:1"))
    channel._buttons["!room"] = ("$offer", fiches)
    assert channel._take_button("!room", None, 1) == "fiche:7:0"
    assert channel._take_button("!room", "$offer", 2) == "fiche:7:1"
    choices = (Button("This answers it", "helped:7"), Button("Ask an expert", "expert:7"))
    channel._buttons["!room"] = ("$offer", choices)
    assert channel._take_button("!room", None, 2) == "expert:7"
    assert channel._take_button("!room", None, 1) is None  # taken once: "1" is text again


def test_the_key_store_sits_beside_the_database_unless_configured(tmp_path: Path) -> None:
    database = tmp_path / "data" / "rrm.db"
    secret = {"RRM_MATRIX_PASSWORD": "pw"}
    beside = load(tmp_path, MATRIX, secret | {"RRM_DATABASE_URL": f"sqlite:///{database}"})
    assert Path(beside.matrix.store_path) == tmp_path / "data" / "matrix-store"
    with_postgres = load(tmp_path, MATRIX, secret | {"RRM_DATABASE_URL": "postgresql://db/rrm"})
    assert Path(with_postgres.matrix.store_path) == tmp_path / "matrix-store"
    chosen = load(tmp_path, MATRIX + 'store_path = "keys/bot"\n', secret)
    assert Path(chosen.matrix.store_path) == tmp_path / "keys" / "bot"


@pytest.mark.parametrize(
    "content",
    [
        {"msgtype": "m.image", "body": "photo.jpg"},  # no url at all
        {"msgtype": "m.file", "body": "a.pdf", "url": "https://example.org/a.pdf"},
        {"msgtype": "m.file", "body": "a.pdf", "url": 7},
        {"msgtype": "m.file", "body": "a.pdf", "file": {"url": "https://example.org/a"}},
        {"msgtype": "m.file", "body": "a.pdf", "file": "mxc://example.org/a"},
    ],
)
def test_a_malformed_file_message_carries_no_file(content: dict[str, object]) -> None:
    assert read_files(content, "matrix") == ()


def test_a_file_is_read_with_its_name_caption_and_type() -> None:
    plain = {
        "msgtype": "m.image",
        "body": "the form, filled in",
        "filename": "form.png",
        "url": "mxc://example.org/form",
        "info": {"mimetype": "image/png"},
    }
    (image,) = read_files(plain, "matrix")
    assert (image.kind, image.ref, image.name, image.caption, image.mimetype) == (
        "photo",
        "mxc://example.org/form",
        "form.png",
        "the form, filled in",
        "image/png",
    )
    sealed = {"url": "mxc://example.org/x", "key": {"k": "secret"}, "iv": "iv"}
    odd = {"msgtype": "m.sticker", "body": "x.bin", "file": sealed, "info": "not a dict"}
    (file,) = read_files(odd, "matrix")
    assert (file.kind, file.name, file.caption, file.mimetype) == ("document", "x.bin", "", "")
    assert json.loads(file.ref) == sealed
