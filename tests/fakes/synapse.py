"""A real Synapse homeserver on loopback with SQLite, for the Matrix channel's tests."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ground.config import MatrixConfig

SERVER_NAME = "localhost"
# The accounts every test may use (the session fixture registers them), and an admin.
# petra shares no room with the bot before her test: a room the bot opens for her is new.
PEOPLE = (
    "bot",
    "claire",
    "jonas",
    "anna",
    "sofia",
    "tomas",
    "mallory",
    "ratebot",
    "herald",
    "petra",
    "eve",
)
# Used only if the installed Synapse's ratelimiting.py cannot be read.
KNOWN_LIMITS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)
# Strings in ratelimiting.py that look like rate-limit keys but are not config sections.
NOT_SECTIONS = {"rc_messages", "rc_federation", "rc_remote_media_downloads"}


def password(localpart: str) -> str:
    """The password of a test account."""
    return f"pw-{localpart}-secret"


class SynapseError(Exception):
    """The homeserver did not start, or refused an admin request."""


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rate_limit_keys() -> list[str]:
    """Every ``rc_*`` setting the installed Synapse reads (dotted for nested ones)."""
    try:
        import synapse.config.ratelimiting as module

        source = Path(module.__file__ or "").read_text(encoding="utf-8")
    except (ImportError, OSError):
        return list(KNOWN_LIMITS)
    found = dict.fromkeys(re.findall(r'"(rc_[a-z0-9_]+(?:\.[a-z0-9_]+)?)"', source))
    keys = [
        key
        for key in found
        if key not in NOT_SECTIONS and not key.endswith(("_per_second", "_burst_count"))
    ]
    return keys or list(KNOWN_LIMITS)


def lifted_limits() -> dict[str, Any]:
    """Each rate limit raised so far that no test ever meets it."""
    settings: dict[str, Any] = {}
    for key in rate_limit_keys():
        section, _, part = key.partition(".")
        value = {"per_second": 100_000, "burst_count": 1_000_000}
        if part:
            settings.setdefault(section, {})[part] = value
        else:
            settings[section] = value
    return settings


@dataclass
class Synapse:
    """One running homeserver: its address, shared secret and process."""

    directory: Path
    port: int
    secret: str
    process: subprocess.Popen[bytes] | None = None
    admin_token: str = ""
    # What registering each test account answered: user_id, access_token, device_id.
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.directory / "homeserver.log"

    @property
    def url(self) -> str:
        """The client-server API base address."""
        return f"http://127.0.0.1:{self.port}"

    def user_id(self, localpart: str) -> str:
        """The full user id of ``localpart`` on this server."""
        return f"@{localpart}:{SERVER_NAME}"

    def bot_config(self, localpart: str, experts_room: str, store: Path) -> MatrixConfig:
        """Matrix on, as ``localpart`` logging in with its password, keys kept in ``store``."""
        return MatrixConfig(
            enabled=True,
            homeserver=self.url,
            user_id=self.user_id(localpart),
            password=password(localpart),
            experts_room=experts_room,
            store_path=str(store),
        )

    @classmethod
    def start(cls, directory: Path, timeout: float = 60.0) -> Synapse:
        """Write a config, generate keys, start the server and wait until it answers."""
        server = cls(directory=directory, port=free_port(), secret=secrets.token_hex(16))
        config = server.write_config()
        command = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)]
        generated = subprocess.run(
            [*command, "--generate-keys"], capture_output=True, cwd=directory, check=False
        )
        if generated.returncode != 0:
            raise SynapseError(f"key generation failed: {generated.stderr.decode()[-2000:]}")
        with server.log_path.open("ab") as log:
            server.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=directory
            )
        try:
            server.wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def write_config(self) -> Path:
        """Write homeserver.yaml (JSON is YAML) for loopback, SQLite and no rate limits."""
        directory = self.directory
        config = {
            "server_name": SERVER_NAME,
            "public_baseurl": f"{self.url}/",
            "pid_file": str(directory / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "bind_addresses": ["127.0.0.1"],
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(directory / "hs.db")}},
            "media_store_path": str(directory / "media"),
            "signing_key_path": str(directory / "signing.key"),
            "registration_shared_secret": self.secret,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "bcrypt_rounds": 4,
            "presence": {"enabled": False},
            "enable_metrics": False,
            "url_preview_enabled": False,
            **lifted_limits(),
        }
        path = directory / "homeserver.yaml"
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        return path

    def wait_ready(self, timeout: float) -> None:
        """Poll /_matrix/client/versions until it answers, the process dies or time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SynapseError(f"Synapse exited early; log:\n{self.log_tail()}")
            versions = f"{self.url}/_matrix/client/versions"
            with contextlib.suppress(OSError), urllib.request.urlopen(versions, timeout=2):
                return
            time.sleep(0.1)
        raise SynapseError(f"Synapse not ready after {timeout} s; log:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str = ""
    ) -> dict[str, Any]:
        """One JSON request to the server; raise SynapseError on an error status."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return dict(json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            raise SynapseError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None

    def register(self, localpart: str, password: str, *, admin: bool = False) -> dict[str, Any]:
        """Register a user with the shared secret; return the server's answer (with a token)."""
        path = "/_synapse/admin/v1/register"
        nonce = self.request("GET", path)["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode())
            mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        return self.request(
            "POST",
            path,
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop within 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
