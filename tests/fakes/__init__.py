"""Test doubles: memoised real embedder, scripted console input."""
