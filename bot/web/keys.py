"""The web's secrets and addresses: the session-signing key, the public base URL, loopback binds.

Policy: ``PAPERDESK_WEB_SECRET`` wins; otherwise a random key is generated once and kept in
``PAPERDESK_HOME/web-secret`` (mode 0600), so a link printed by ``paperdesk web login`` in one
process is honoured by the daemon serving the dashboard in another. Failure contract: an
unreadable or unwritable key file raises ``OSError`` naming the path.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from bot.logging import settings_secrets
from bot.settings import Settings

KEY_FILE = "web-secret"


def session_key(settings: Settings) -> bytes:
    """The HMAC key for login links and session cookies."""
    if settings.web_secret:
        return settings.web_secret.encode()
    home = settings.home.expanduser()
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        _create(path, secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip().encode()


def _create(path: Path, value: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def public_url(settings: Settings) -> str:
    """The base of the links we hand out: ``PAPERDESK_WEB_PUBLIC_URL``, else http://HOST:PORT."""
    if settings.web_public_url:
        return settings.web_public_url.rstrip("/")
    host = settings.web_host
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - naming the wildcard, not binding it
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{settings.web_port}"


def is_loopback(host: str) -> bool:
    """Is this bind address reachable from this machine only?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web_secrets(settings: Settings, key: bytes) -> list[str]:
    """Every value no response may contain: the settings' secrets, the web secret, the metrics token, the key."""
    extra = [settings.web_secret, settings.web_metrics_token, key.decode()]
    return settings_secrets(settings) + [v for v in extra if v]
