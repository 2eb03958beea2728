"""The coordinators' web dashboard: statistics as pages, SVG charts and CSV downloads."""

from bot.dashboard.app import create_app, make_server, serve

__all__ = ["create_app", "make_server", "serve"]
