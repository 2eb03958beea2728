"""The Telegram channel: askers in private chats, experts in one supergroup, on PTB 22.

Experts' threads are forum topics (``forum = true``) or, in a group without topics, reply
chains: the question is one message and its id names the thread. A pressed button is always
answered (so it stops spinning) and its keyboard is removed, so a choice cannot be made twice;
the bot's next message offers whatever choices remain.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
    User,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    ContextTypes,
    TypeHandler,
)

from bot.channels.base import Deliver, DeliverMany, PermanentSendError, RecordProgress
from bot.channels.common import Backoff, Recent, Transient, name_files, retry
from bot.channels.inbox import Inbox
from bot.channels.telegram_inbound import Edge, from_callback, from_message
from bot.channels.telegram_receive import TelegramReceiver, UpdatesRequest
from bot.channels.telegram_text import Part, Style, split_text, with_mentions
from ground.config import TelegramConfig
from handlers.commands import experts_menu, menu
from handlers.events import Attachment, Delivery, Inbound, Progress, Sent, keeps_choices
from handlers.i18n import Translator

if TYPE_CHECKING:
    # Imported when a webhook is served: uvicorn and Starlette cost a polling start time.
    from bot.channels.telegram_webhook import WebhookServer

__all__ = ["ASKER_COMMANDS", "EXPERT_COMMANDS", "TelegramChannel"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# From the command registry; the descriptions are its help texts, which the catalogs translate.
ASKER_COMMANDS = tuple((c.name, c.help) for c in menu("asker", "private"))
EXPERT_COMMANDS = tuple((c.name, c.help) for c in experts_menu())
UPDATES = ("message", "edited_message", "callback_query")
# The kinds of relayed file the Bot API sends again by file id: send_<kind>(<kind>=id).
MEDIA_KINDS = frozenset({"photo", "document", "video", "audio", "voice", "animation"})
# Loggers that write the Bot API address, token included.
URL_LOGGERS = ("httpx", "telegram.Bot", "telegram.ext.ExtBot")
LIMITER_LOGGER = "telegram.ext.AIORateLimiter"
MAX_TITLE = 128
MAX_ROOTS = 10_000


@dataclass
class _Progress:
    """What an outbox message got through so far (from earlier attempts too)."""

    outbox_id: int
    thread_id: str | None = None
    message_ids: list[int] = field(default_factory=list)


class _RedactToken(logging.Filter):
    """PTB and httpx log the Bot API's address, and the token is part of it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token and self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        return True


class TelegramChannel:
    """Polls the Bot API for updates and sends the core's deliveries, retrying transient faults.

    ``languages`` are the network's languages: the command list is set in each one that has
    translations. ``attempts`` and ``retry_delay`` bound the retries of one send (the outbox
    retries later); a flood wait longer than ``max_flood_wait`` seconds is left to the outbox.
    """

    name = "telegram"
    # The next update is handled while the replies to the last one are sent (in order).
    replies_in_background = True

    def __init__(
        self,
        config: TelegramConfig,
        languages: Sequence[str] = ("en",),
        *,
        attempts: int = 4,
        retry_delay: float = 1.0,
        max_flood_wait: float = 60.0,
    ) -> None:
        self.config = config
        self._languages = tuple(languages)
        self._backoff = Backoff(max(1, attempts), retry_delay, max_wait=max_flood_wait)
        self._group = config.experts_chat_id
        # Reply-chain mode remembers its messages' roots (Telegram names most itself).
        self._roots: Recent[int, int] = Recent(MAX_ROOTS)
        self._edge = Edge(self.name, self._group, config.forum, self._roots)
        self._record: RecordProgress | None = None
        # Forum topics found closed: reopened before the next post into them.
        self._closed_topics: set[str] = set()
        self._redact = _RedactToken(config.token)
        self._deliver: Deliver | None = None
        self._deliver_many: DeliverMany | None = None
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._inbox: Inbox | None = None
        self._receiver: TelegramReceiver | None = None
        self._updates_request: UpdatesRequest | None = None
        self._webhook: WebhookServer | None = None
        self._standby: asyncio.Task[None] | None = None
        # For monitoring (and tests): updates taken in so far, and the last one's id.
        self.updates_handled = 0
        self.last_update_id: int | None = None

    @property
    def rate_limiter(self) -> BaseRateLimiter[Any] | None:
        """The limiter every Bot API call goes through (None when not started)."""
        return self._app.bot.rate_limiter if self._app is not None else None

    # Lifecycle ---------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """The bot's id, the part of its token before the colon."""
        return self.config.token.partition(":")[0]

    def use_progress(self, record: RecordProgress) -> None:
        """Store each delivery's progress with ``record`` (without it, a retry starts over)."""
        self._record = record

    def use_batches(self, deliver_many: DeliverMany) -> None:
        """Hand the updates taken from the inbox to the core several at a time."""
        self._deliver_many = deliver_many

    def use_inbox(self, inbox: Inbox) -> None:
        """Poll into ``inbox`` and handle from it (without one, PTB's updater polls)."""
        self._inbox = inbox

    async def start(self, deliver: Deliver) -> None:
        """Check the token (getMe), set the command lists, and start polling for updates.

        With ``webhook_url`` set, register the webhook (with its secret token) and listen
        for Telegram's requests instead; a request without the secret is refused (403).
        """
        self._deliver = deliver
        # httpx logs every request's address, token included, at INFO.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        for name in URL_LOGGERS:
            logging.getLogger(name).addFilter(self._redact)
        # The limiter reports each flood wait it hands back as an error with a traceback;
        # _call waits it out and logs one line instead.
        logging.getLogger(LIMITER_LOGGER).addFilter(_quiet_flood_waits)
        app = self._build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        # Set before polling starts: the first update's replies are sent through it.
        self._app = app
        try:
            await app.initialize()
            await self._set_commands(app)
            await app.start()
            assert app.updater is not None
            if self._inbox is not None:
                self._receiver = TelegramReceiver(
                    app.bot,
                    self._inbox,
                    self._take_many,
                    timeout=self.config.poll_timeout,
                    allowed_updates=UPDATES,
                    retry_delay=self._backoff.delay,
                    request=self._updates_request,
                )
            if self.config.webhook_url:
                await self._start_webhook(app)
            elif self._receiver is not None:
                await self._receiver.start()
            else:
                await app.updater.start_polling(
                    timeout=self.config.poll_timeout, allowed_updates=list(UPDATES)
                )
        except InvalidToken:
            await self.stop()
            # PTB's own message quotes the token: replace it, and drop the chained original.
            raise InvalidToken(
                "the Bot API rejected the token (telegram.token or RRM_TELEGRAM_TOKEN)"
            ) from None
        except BaseException:
            await self.stop()
            raise
        me = app.bot.bot
        mode = "webhook" if self.config.webhook_url else "polling"
        log.info("telegram: %s as @%s (id %s)", mode, me.username, me.id)

    async def _start_webhook(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Serve the webhook (its 200 waits for the inbox commit), then register it."""
        take = self._take
        if self._receiver is not None:
            await self._receiver.start(poll=False)
            take = self._receiver.take
        serve = functools.partial(self._serve_webhook, app, take)
        if self._inbox is None:
            await serve()
        else:
            # Only the elected process serves the webhook (and so receives and sends for this
            # bot); the others handle what it stores, and serve in its place once it is gone.
            self._standby = await self._inbox.when_leading(serve)

    async def _serve_webhook(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        take: Callable[[Update], Awaitable[None]],
    ) -> None:
        from bot.channels.telegram_webhook import WebhookServer

        config = self.config
        webhook = WebhookServer(
            app.bot,
            take,
            host=config.webhook_listen,
            port=config.webhook_port,
            # The proxy forwards the public address's path unchanged.
            path=urlsplit(config.webhook_url).path or "/",
            secret=config.webhook_secret,
        )
        await webhook.start()
        try:
            await self._call(
                app.bot.set_webhook,
                url=config.webhook_url,
                secret_token=config.webhook_secret,
                allowed_updates=list(UPDATES),
            )
        except BaseException:
            # Free the port: a process standing by tries again.
            await webhook.stop()
            raise
        self._webhook = webhook

    async def stop_receiving(self) -> None:
        """Stop polling; the update in hand finishes, stored ones wait for the next start."""
        standby, self._standby = self._standby, None
        if standby is not None:
            standby.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await standby
        webhook, self._webhook = self._webhook, None
        if webhook is not None:
            await webhook.stop()
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            await receiver.stop()

    async def stop(self) -> None:
        """Stop polling, let the update in hand finish, and close the HTTP connections."""
        await self.stop_receiving()
        app, self._app = self._app, None
        if app is not None:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
            await app.bot.shutdown()  # after a failed start, the app leaves the bot's client open
        for name in URL_LOGGERS:
            logging.getLogger(name).removeFilter(self._redact)
        logging.getLogger(LIMITER_LOGGER).removeFilter(_quiet_flood_waits)

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        config = self.config
        base = config.base_url
        file_base = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base
        limiter = AIORateLimiter(
            overall_max_rate=config.rate_per_second,
            overall_time_period=1,
            group_max_rate=config.group_rate_per_minute,
            group_time_period=60,
            max_retries=0,  # send() retries, and hands a long flood wait to the outbox
        )
        builder = (
            ApplicationBuilder()
            .token(config.token)
            .base_url(base)
            .base_file_url(file_base)
            .rate_limiter(limiter)
            .job_queue(None)
        )
        if self._inbox is not None:
            # The inbox stores each polled update as Telegram sent it.
            self._updates_request = UpdatesRequest()
            builder = builder.get_updates_request(self._updates_request)
        return builder.build()

    async def _set_commands(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Command menus: askers' in private chats, per language; experts' in their group.

        Every menu is set at once: one call after another, a network of ten languages made
        twenty round trips to Telegram before the first poll.
        """
        texts = await asyncio.to_thread(Translator, self._languages)
        private = BotCommandScopeAllPrivateChats()
        # Each expert sees the group's menu in their app's language, where translated.
        group = BotCommandScopeChat(self._group)
        askers, experts = await asyncio.gather(
            self._set_menu(app.bot, ASKER_COMMANDS, private, texts),
            self._set_menu(app.bot, EXPERT_COMMANDS, group, texts),
            return_exceptions=True,
        )
        if isinstance(askers, BaseException):
            raise askers
        if isinstance(experts, TelegramError | PermanentSendError):
            # Not fatal: the bot may not be in the group yet; the commands work anyway.
            log.warning("telegram: cannot set the experts' commands in the group: %s", experts)
        elif isinstance(experts, BaseException):
            raise experts

    async def _set_menu(
        self,
        bot: Bot,
        commands: Sequence[tuple[str, str]],
        scope: BotCommandScope,
        texts: Translator,
    ) -> None:
        """One menu in English, and in each of the network's languages that translates it."""
        calls = [self._call(bot.set_my_commands, _commands(commands), scope=scope)]
        for language in self._languages:
            if language == "en" or not any(texts.has(language, d) for _, d in commands):
                continue
            translated = [(name, texts.translate(language, d)) for name, d in commands]
            calls.append(
                self._call(
                    bot.set_my_commands, _commands(translated), scope=scope, language_code=language
                )
            )
        # Every call runs to its end; the first failure is the menu's.
        for outcome in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    # Inbound -----------------------------------------------------------------------------

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """An update from PTB's updater (polling without an inbox)."""
        await self._take(update)

    async def _take(self, update: Update) -> None:
        """Convert one update at the edge and hand it to the core."""
        assert self._deliver is not None
        try:
            event = await self._event_of(update)
            if event is not None:
                await self._deliver(event)
        finally:
            self.updates_handled += 1
            self.last_update_id = update.update_id

    async def _event_of(self, update: Update) -> Inbound | None:
        """The update as the core's event, if it is one; a pressed button is answered first."""
        if update.callback_query is not None:
            await self._answer_button(update)
            return from_callback(update, self._edge)
        return from_message(update, self._edge)

    async def _take_many(self, updates: Sequence[Update]) -> None:
        """Convert updates at the edge, in order, and hand them to the core together."""
        events: list[Inbound] = []
        for update in updates:
            try:
                event = await self._event_of(update)
            except Exception:
                log.exception("telegram: update %s could not be taken in", update.update_id)
                continue
            if event is not None:
                events.append(event)
        try:
            if events:
                await self._hand_over(events)
        finally:
            if updates:
                self.updates_handled += len(updates)
                self.last_update_id = updates[-1].update_id

    async def _hand_over(self, events: list[Inbound]) -> None:
        """All at once where the core takes batches, else one by one."""
        if self._deliver_many is not None:
            await self._deliver_many(events)
            return
        assert self._deliver is not None
        for event in events:
            try:
                await self._deliver(event)
            except Exception:
                log.exception("telegram: event %s failed", event.event_id)

    async def _answer_button(self, update: Update) -> None:
        """Stop the button's spinner, and take the keyboard away so it is pressed only once.

        Unless the core says the pressed button keeps the choices (opening a fiche).
        """
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()
            message = query.message
            if (
                isinstance(message, Message)
                and message.reply_markup is not None
                and not keeps_choices(query.data or "")
            ):
                await message.edit_reply_markup(reply_markup=None)
        except TelegramError as error:
            log.warning("telegram: answering button press %s failed: %s", query.id, error)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log a failure in update handling with the update's id (the core logs its own)."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: update %s failed", update_id, exc_info=context.error)

    # Outbound ----------------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> Sent:
        """Send one delivery: to a chat, into a question's thread, or opening one."""
        if self._app is None:
            raise RuntimeError("the Telegram channel is not started")
        text, mentions = with_mentions(delivery.text, delivery.mentions)
        text, spans, files = name_files(
            text,
            delivery.formatting,
            delivery.attachments,
            lambda a: a.channel == self.name and a.kind in MEDIA_KINDS,
        )
        parts = split_text(text, mentions, spans=spans)
        if not parts:
            raise PermanentSendError("empty message: Telegram refuses messages without text")
        # What earlier attempts sent (before a failure or a crash) is not sent again.
        done = delivery.progress
        progress = _Progress(delivery.outbox_id, done.thread_id, [int(i) for i in done.message_ids])
        return await self._send(delivery, parts, files, progress)

    async def _made(self, progress: _Progress) -> None:
        """Store the progress before the next call: a crash then repeats that call at most."""
        if self._record is not None:
            space = str(self._group) if progress.thread_id is not None else None
            made = Progress(progress.thread_id, tuple(str(i) for i in progress.message_ids), space)
            await self._record(progress.outbox_id, made)

    async def _send(
        self,
        delivery: Delivery,
        parts: list[Part],
        files: Sequence[Attachment],
        progress: _Progress,
    ) -> Sent:
        markup = _keyboard(delivery)
        if delivery.chat_id is None and delivery.opens_thread:
            sent = await self._open_thread(delivery, parts, markup, progress)
        elif delivery.chat_id is None:
            if delivery.thread_id is None:
                raise RuntimeError(f"outbox message {delivery.outbox_id} has no thread")
            ids = await self._post(self._group, parts, markup, progress, delivery.thread_id, files)
            sent = Sent(str(ids[-1]))
        else:
            chat_id = int(delivery.chat_id)
            ids = await self._post(chat_id, parts, markup, progress, delivery.thread_id, files)
            sent = Sent(str(ids[-1]))
        return sent

    async def _open_thread(
        self,
        delivery: Delivery,
        parts: list[Part],
        markup: InlineKeyboardMarkup | None,
        progress: _Progress,
    ) -> Sent:
        assert self._app is not None
        if self.config.forum:
            if progress.thread_id is None:
                # The core names the thread; a topic needs some name, and a number reads in any
                # language.
                title = _title(delivery.thread_title or "", f"#{delivery.question_id}")
                topic = await self._call(
                    self._app.bot.create_forum_topic, chat_id=self._group, name=title
                )
                progress.thread_id = str(topic.message_thread_id)
                await self._made(progress)
            ids = await self._post(self._group, parts, markup, progress, progress.thread_id)
            thread_id = progress.thread_id
        else:
            ids = await self._post(self._group, parts, markup, progress, None)
            thread_id = str(ids[0])
        return Sent(str(ids[-1]), thread_id=thread_id, chat_id=str(self._group))

    async def _post(
        self,
        chat_id: int,
        parts: list[Part],
        markup: InlineKeyboardMarkup | None,
        progress: _Progress,
        thread_id: str | None,
        files: Sequence[Attachment] = (),
    ) -> list[int]:
        """Send the parts not sent yet, then the files; the buttons go under the last part.

        Return the ids of all the messages sent.
        """
        in_topic = thread_id is not None and chat_id == self._group and self.config.forum
        if in_topic:
            assert thread_id is not None
            thread_id = await self._open_topic(thread_id)
        try:
            return await self._post_in(chat_id, parts, markup, progress, thread_id, files)
        except BadRequest as error:
            if not in_topic or thread_id is None or not _topic_gone(error):
                raise
            # Experts closed (or deleted) the question's topic: reopen it, or use General.
            self._closed_topics.add(thread_id)
            thread_id = await self._open_topic(thread_id)
            return await self._post_in(chat_id, parts, markup, progress, thread_id, files)

    async def _post_in(
        self,
        chat_id: int,
        parts: list[Part],
        markup: InlineKeyboardMarkup | None,
        progress: _Progress,
        thread_id: str | None,
        files: Sequence[Attachment],
    ) -> list[int]:
        assert self._app is not None
        placement: dict[str, Any] = {}
        if thread_id is not None and chat_id == self._group and not self.config.forum:
            root = int(thread_id)
            placement["reply_parameters"] = ReplyParameters(
                message_id=root, allow_sending_without_reply=True
            )
        elif thread_id is not None:
            placement["message_thread_id"] = int(thread_id)
        for index, part in enumerate(parts):
            if index < len(progress.message_ids):
                continue
            message = await self._call(
                self._app.bot.send_message,
                chat_id=chat_id,
                text=part.text,
                entities=[_entity(e.offset, e.length, e.user_id, e.name) for e in part.entities]
                + [_style(s) for s in part.styles]
                or None,
                reply_markup=markup if index == len(parts) - 1 else None,
                **placement,
            )
            progress.message_ids.append(message.message_id)
            if "reply_parameters" in placement:
                self._roots.remember(message.message_id, placement["reply_parameters"].message_id)
            if len(progress.message_ids) < len(parts) + len(files):
                await self._made(progress)
        for index, file in enumerate(files, start=len(parts)):
            if index < len(progress.message_ids):
                continue
            send = getattr(self._app.bot, f"send_{file.kind}")
            message = await self._call(send, chat_id=chat_id, **{file.kind: file.ref}, **placement)
            progress.message_ids.append(message.message_id)
            if len(progress.message_ids) < len(parts) + len(files):
                await self._made(progress)
        return progress.message_ids

    async def _open_topic(self, thread_id: str) -> str | None:
        """The topic to post in: ``thread_id`` once reopened if experts closed it.

        A topic that cannot be reopened (deleted, or the bot lacks the right) is replaced by
        the group's General topic (None), so the message still reaches the experts.
        """
        if thread_id not in self._closed_topics:
            return thread_id
        assert self._app is not None
        try:
            await self._call(
                self._app.bot.reopen_forum_topic,
                chat_id=self._group,
                message_thread_id=int(thread_id),
            )
        except TelegramError as error:
            log.warning(
                "telegram: topic %s stays closed (%s); posting in General", thread_id, error
            )
            return None
        self._closed_topics.discard(thread_id)
        return thread_id

    async def _call(self, method: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Call the Bot API, retrying flood waits and network faults a few times."""

        async def once() -> T:
            try:
                return await method(*args, **kwargs)
            except RetryAfter as error:
                raise Transient(error, _seconds(error.retry_after)) from error
            except (Forbidden, BadRequest) as error:
                # A person blocked the bot or left: retrying will not help. The experts' group
                # is different: an operator can fix it, so the outbox keeps trying.
                gone = isinstance(error, Forbidden) or "chat not found" in error.message.lower()
                if gone and kwargs.get("chat_id") != self._group:
                    raise PermanentSendError(error.message) from error
                raise
            except NetworkError as error:
                raise Transient(error) from error

        return await retry(once, self._backoff, channel=self.name)


def _quiet_flood_waits(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], RetryAfter))


def _commands(pairs: Sequence[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, description[:256]) for name, description in pairs]


def _keyboard(delivery: Delivery) -> InlineKeyboardMarkup | None:
    """One button a row: labels in several languages are too long to sit side by side."""
    if not delivery.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action)] for b in delivery.buttons]
    )


def _entity(offset: int, length: int, user_id: int, name: str) -> MessageEntity:
    user = User(id=user_id, first_name=name, is_bot=False)
    return MessageEntity(MessageEntity.TEXT_MENTION, offset, length, user=user)


def _topic_gone(error: BadRequest) -> bool:
    message = error.message.lower()
    return "topic_closed" in message or "thread not found" in message or "topic_deleted" in message


def _style(style: Style) -> MessageEntity:
    return MessageEntity(style.kind, style.offset, style.length, url=style.url or None)


def _title(title: str, fallback: str) -> str:
    title = " ".join(title.split()) or fallback
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


def _seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
