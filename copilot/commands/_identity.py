"""Who is acting, for the audit trail of the draft commands."""

from __future__ import annotations

import getpass


def current_user(given: str | None) -> str:
    """``--by`` when given, else the login name, else ``unknown``."""
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
