"""The ground floor: config, storage, clock, logs and calendars; it imports no floor above."""
