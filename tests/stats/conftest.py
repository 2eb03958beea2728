"""The statistics tests count around the clock, so the hand-made durations stay readable."""

from __future__ import annotations

import dataclasses

import pytest

from ground.config import Config

EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
def config(config: Config) -> Config:
    """The example configuration with every partner working every hour of every day."""
    partners = tuple(
        dataclasses.replace(p, working_days=EVERY_DAY, working_hours="00:00-24:00", holidays=())
        for p in config.partners
    )
    return dataclasses.replace(config, partners=partners)
