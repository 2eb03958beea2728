"""The RRM application: command line, composition root, channels and dashboard (the top floor)."""
