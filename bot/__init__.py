"""The RRM application: configuration, storage, command line and the composition root."""
