"""The conversation, once for every channel: intake, fiche answers, relay, commands."""

from handlers.context import Services, Turn
from handlers.conversation import Conversation
from handlers.directory import sync_directory
from handlers.events import Button, Delivery, Inbound, Sent
from handlers.i18n import Translator

__all__ = [
    "Button",
    "Conversation",
    "Delivery",
    "Inbound",
    "Sent",
    "Services",
    "Translator",
    "Turn",
    "sync_directory",
]
