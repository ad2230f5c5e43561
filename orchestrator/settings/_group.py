"""What every settings group shares: no unknown fields, secrets read at use."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr


class Group(BaseModel):
    """A settings group: a misspelt field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def read_secret(value: SecretStr | None, path: Path | None) -> str | None:
    """The secret's value, given inline or in a file (a mounted Secret), read when used."""
    if value is not None:
        return value.get_secret_value()
    if path is not None:
        return path.read_text().strip()
    return None
