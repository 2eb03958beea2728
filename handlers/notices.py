"""What the bot says in the experts' space about itself, outside any question."""

from __future__ import annotations

from dataclasses import dataclass

from ground.storage import conversation_repo
from handlers.context import Services
from handlers.writer import Writer

__all__ = ["NEW_DEVICE", "NewDevice", "announce_new_device"]

NEW_DEVICE = (
    "My encryption keys were lost, so I now use a new session: {device} (fingerprint "
    "{fingerprint}). Encrypted messages sent to my old session {old} cannot be read. If you "
    "had verified my old session, please verify this one."
)


@dataclass(frozen=True)
class NewDevice:
    """The encryption session a channel took at start because the old one's keys were lost."""

    device: str
    fingerprint: str
    old: str


def announce_new_device(services: Services, channel: str, new: NewDevice) -> None:
    """Tell the experts on ``channel``, in the space's language, to verify the new session."""
    with services.sessions.begin() as session:
        writer = Writer(
            services.config,
            services.texts,
            [channel],
            services.clock.now(),
            lambda _person_id: (),
            lambda row: conversation_repo.queue_message(session, row),
        )
        text = writer.t_for(
            None, NEW_DEVICE, device=new.device, fingerprint=new.fingerprint, old=new.old
        )
        writer.send(channel, text)
