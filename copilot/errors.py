"""The one exception tree of atc.

Every error atc raises on purpose derives from :class:`AtcError` and carries the
CLI exit code of the contract in docs/architecture.md, 'Command-line contract':
1 unexpected failure, 2 bad usage or bad input, 3 a policy said no. The CLI prints
``Name: message`` and exits with ``exit_code``; ``--json`` prints
``{"ok": false, "error": "Name: message"}``.
"""

from __future__ import annotations


class AtcError(Exception):
    """Base of every error atc raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def line(self) -> str:
        """One readable line: ``Name: message``."""
        return f"{type(self).__name__}: {self.message}"


# --- exit 2: bad usage or bad input ---------------------------------------


class InputError(AtcError):
    """Bad usage or bad input: the user can fix it."""

    exit_code = 2


class UsageError(InputError):
    """A command line that does not make sense."""


class ConfigError(InputError):
    """A setting in the environment or atc.toml is missing or invalid."""


class LogFormatError(InputError):
    """A file is not an Apigee log atc can read (binary, empty, wrong format)."""


class ProductsError(InputError):
    """An API product file is malformed."""


class SpecError(InputError):
    """A WorkflowSpec document does not parse or does not follow the schema."""


class BundleError(InputError):
    """An Apigee proxy bundle (directory or zip) cannot be read."""


# --- exit 3: a policy said no --------------------------------------------


class PolicyDenied(AtcError):
    """A policy refused: scope denied, token invalid, draft rejected."""

    exit_code = 3


class ScopeDenied(PolicyDenied):
    """A request is outside the granted scopes or is ambiguous (hostile URL)."""


class TokenInvalid(PolicyDenied):
    """A JWT failed verification."""


# --- exit 1: something outside failed --------------------------------------


class ExternalError(AtcError):
    """A dependency (gateway, LLM endpoint, Temporal) failed."""


class GatewayError(ExternalError):
    """The API gateway or a backend answered with an error."""

    def __init__(
        self, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class LLMError(ExternalError):
    """The LLM endpoint failed or answered with something unusable."""


class TemporalError(ExternalError):
    """The Temporal server or a worker failed."""


class LLMUnavailable(LLMError):
    """The LLM endpoint is temporarily unavailable (429, 5xx, timeout): retrying may help.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
