"""Connector accounts: which mailboxes, bots and gateways this body runs, and their secrets.

Read from the YAML file in ``QANAT_CONNECTORS_FILE``: a mapping of connector name to a
list of accounts. Secrets never sit in the file: a key ending in ``_env`` names the
environment variable holding the value (``token_env: QANAT_TELEGRAM_TOKEN`` becomes
``token``), and ``_file`` names a file holding it (for Docker / systemd secrets).

```yaml
telegram:
  - account: ministry_bot
    mode: webhook
    token_env: QANAT_TELEGRAM_TOKEN
    secret_token_env: QANAT_TELEGRAM_WEBHOOK_SECRET
email_imap:
  - account: complaints
    host: imap.example.bh
    username: complaints@example.bh
    password_file: /run/secrets/imap_password
```
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from qanat.errors import ConfigError

#: Keys that hold a credential: they come from the environment or a file, never inline.
SECRET_KEY = re.compile(r"(password|secret|token|_key)$")


def resolve_secrets(account: dict[str, Any], *, where: str) -> dict[str, Any]:
    """Replace ``x_env`` / ``x_file`` keys by ``x`` with the secret's value, in nested
    settings too (an email account's ``imap:`` and ``smtp:`` passwords). A secret
    written in the file itself is refused: files are shared, copied and committed."""
    resolved: dict[str, Any] = {}
    for key, value in account.items():
        if SECRET_KEY.search(key) and not isinstance(value, dict):
            raise ConfigError(
                f"{where}: {key} is a secret: give {key}_env (an environment variable) or "
                f"{key}_file (a file holding it), never the value in the connectors file"
            )
        if isinstance(value, dict):
            resolved[key] = resolve_secrets(value, where=f"{where}.{key}")
        elif key.endswith("_env"):
            name = str(value)
            if name not in os.environ:
                raise ConfigError(f"{where}: {key} names {name}, which is not set")
            resolved[key.removesuffix("_env")] = os.environ[name]
        elif key.endswith("_file"):
            try:
                resolved[key.removesuffix("_file")] = Path(value).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{where}: {key}: cannot read {value}: {exc}") from exc
        else:
            resolved[key] = value
    return resolved


def load_accounts(path: Path | None) -> dict[str, list[dict[str, Any]]]:
    """Every configured connector's accounts, secrets resolved; empty without a file."""
    if path is None:
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of connector name to accounts")
    accounts: dict[str, list[dict[str, Any]]] = {}
    for name, entries in document.items():
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigError(f"{path}: {name}: expected a list of accounts")
        accounts[str(name)] = [
            resolve_secrets(entry, where=f"{path}: {name}[{index}]")
            for index, entry in enumerate(entries)
        ]
    return accounts
