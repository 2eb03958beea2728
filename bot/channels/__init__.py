"""Channel adapters: each turns a platform's updates into inbound events and sends deliveries."""

from bot.channels.base import Channel, Deliver, PermanentSendError

__all__ = ["Channel", "Deliver", "PermanentSendError"]
