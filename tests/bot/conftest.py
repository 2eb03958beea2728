"""Fixtures of the bot's tests: the Matrix homeserver is started once for every module."""

from tests.bot.matrix_setup import few_fiches, synapse

__all__ = ["few_fiches", "synapse"]
