"""Gateway-enforced scopes: API products, Apigee matching, scoped JWTs, gateway client.

The public API most callers need:

- :func:`load_catalog` / :class:`Catalog` / :class:`Operation`: what each scope grants.
- :func:`check_request` / :func:`check_operation` / :class:`Decision`: one answer, one reason.

JWTs live in :mod:`copilot.scopes.tokens` and :mod:`copilot.scopes.keys`, the
gateway client in :mod:`copilot.scopes.client`, the local gateway emulator in
:mod:`copilot.scopes.emulator`, Apigee artifacts in :mod:`copilot.scopes.artifacts`.
"""

from __future__ import annotations

from copilot.scopes.catalog import DEFAULT_PRODUCTS, Catalog, build_catalog, load_catalog
from copilot.scopes.check import Decision, check_operation, check_request
from copilot.scopes.operations import Operation

__all__ = [
    "DEFAULT_PRODUCTS",
    "Catalog",
    "Decision",
    "Operation",
    "build_catalog",
    "check_operation",
    "check_request",
    "load_catalog",
]
