"""Dashboard logins: scrypt-hashed accounts, one-time links, server-side sessions, attempts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ground.storage.models import (
    DashboardAccount,
    DashboardLink,
    DashboardLoginAttempt,
    DashboardSession,
    Person,
)
from ground.vocabulary import Role

__all__ = [
    "AccountError",
    "add_account",
    "check_login",
    "end_session",
    "forget_attempts",
    "hash_password",
    "issue_link",
    "recent_attempts",
    "record_attempt",
    "redeem_link",
    "remove_account",
    "session_user",
    "start_session",
    "verify_password",
]

# scrypt's cost: about 16 MiB and a few tens of milliseconds per hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10


class AccountError(ValueError):
    """A refused account change, with the reason for the person typing."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``, with its parameters, for storing."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by ``hash_password``."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(base64.b64decode(digest)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


def add_account(session: Session, name: str, password: str, now: dt.datetime) -> bool:
    """Create the account ``name``, or set a new password; True if it is new."""
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise AccountError("the name must be 1 to 64 characters with no spaces")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    account = session.scalar(select(DashboardAccount).where(DashboardAccount.name == name))
    created = account is None
    if account is None:
        account = DashboardAccount(name=name, created_at=now)
        session.add(account)
    account.password_hash = hash_password(password)
    # A new password ends every session opened with the old one.
    session.execute(delete(DashboardSession).where(DashboardSession.name == name))
    session.flush()
    return created


def remove_account(session: Session, name: str) -> bool:
    """Delete the account ``name`` and end its sessions; True if there was one."""
    name = name.strip()
    session.execute(delete(DashboardSession).where(DashboardSession.name == name))
    removed = session.execute(delete(DashboardAccount).where(DashboardAccount.name == name))
    return bool(getattr(removed, "rowcount", 0))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, name: str, now: dt.datetime, hours: int) -> str:
    """A new session for ``name``, valid ``hours``: the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            token_hash=_token_hash(token),
            name=name,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
    session.flush()
    return token


def session_user(session: Session, token: str, now: dt.datetime) -> str | None:
    """Who the session ``token`` belongs to, if it was neither ended nor has expired."""
    row = session.get(DashboardSession, _token_hash(token))
    if row is None or row.expires_at <= now:
        return None
    return row.name


def end_session(session: Session, token: str) -> None:
    """End the session ``token`` (a logout)."""
    session.execute(
        delete(DashboardSession).where(DashboardSession.token_hash == _token_hash(token))
    )


def record_attempt(session: Session, key: str, now: dt.datetime) -> None:
    """Record one login attempt for ``key``, before its password is checked."""
    session.add(DashboardLoginAttempt(key=key, at=now))


def recent_attempts(
    session: Session, key: str, now: dt.datetime, window: dt.timedelta
) -> list[dt.datetime]:
    """The times of ``key``'s attempts within ``window``, oldest first."""
    return list(
        session.scalars(
            select(DashboardLoginAttempt.at)
            .where(DashboardLoginAttempt.key == key, DashboardLoginAttempt.at > now - window)
            .order_by(DashboardLoginAttempt.at)
        )
    )


def forget_attempts(session: Session, key: str, now: dt.datetime, window: dt.timedelta) -> None:
    """Forget ``key``'s attempts (after a success), and everyone's older than ``window``."""
    session.execute(delete(DashboardLoginAttempt).where(DashboardLoginAttempt.key == key))
    session.execute(delete(DashboardLoginAttempt).where(DashboardLoginAttempt.at <= now - window))


def check_login(session: Session, name: str, password: str) -> bool:
    """Whether ``name`` and ``password`` match an account."""
    account = session.scalar(select(DashboardAccount).where(DashboardAccount.name == name))
    if account is None:
        # Spend the same time as a real check, so names cannot be probed by timing.
        verify_password(password, hash_password("not an account"))
        return False
    return verify_password(password, account.password_hash)


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="rrm-dashboard-link")


def issue_link(
    session: Session, secret: str, person_id: int, now: dt.datetime, minutes: int
) -> str:
    """A signed token that logs ``person_id`` in once, within ``minutes``."""
    nonce = secrets.token_urlsafe(24)
    session.add(
        DashboardLink(
            nonce=nonce,
            person_id=person_id,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
        )
    )
    session.flush()
    return str(_serializer(secret).dumps(nonce))


def redeem_link(session: Session, secret: str, token: str, now: dt.datetime) -> str | None:
    """The name of the coordinator a valid, unused, unexpired token is for; it is used up."""
    try:
        nonce = _serializer(secret).loads(token)
    except BadSignature:
        return None
    if not isinstance(nonce, str):
        return None
    link = session.get(DashboardLink, nonce, with_for_update=True)
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    person = session.get(Person, link.person_id)
    if person is None or person.role != Role.COORDINATOR or not person.active:
        return None
    link.used_at = now
    return person.config_id or person.display_name
