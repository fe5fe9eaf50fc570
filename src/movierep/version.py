"""The package version, in a module of its own so every stage can stamp outputs with it."""

__version__ = "0.1.0"
