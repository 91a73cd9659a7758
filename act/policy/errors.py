"""Errors for policy configs and saved policies that cannot be loaded; each names the file and field."""

from __future__ import annotations


class PolicyLoadError(ValueError):
    """A saved policy directory that cannot be loaded (a missing, damaged or mismatched file)."""


class PolicyNotFoundError(PolicyLoadError, FileNotFoundError):
    """A file a saved policy needs is missing (still a FileNotFoundError, as before)."""


class ConfigError(PolicyLoadError):
    """An ACTConfig source (config.json, a dict) that is not valid JSON, has an unknown key, or a
    value of the wrong type or range; the message starts with the source and names the field."""
