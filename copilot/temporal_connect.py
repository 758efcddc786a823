"""The one way atc connects to Temporal: dev server, TLS cluster or Temporal Cloud.

Every atc client and worker calls :func:`connect`. What it connects to comes
from settings only: address and namespace, an API key *by reference*
(``ATC_TEMPORAL_API_KEY_ENV`` names the variable that holds it), mTLS client
certificate and key, the server's CA and the name to verify. The process's
SDK runtime is configured once, first: the core's log lines go through
Python logging (to stderr, never into ``--json`` output) and, with
``ATC_METRICS_PORT``, a Prometheus endpoint serves the SDK's ``temporal_``
metrics on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import TLSConfig

from copilot.config import Settings
from copilot.errors import ConfigError, TemporalError

RECONNECT_S = 60.0
# Failures no retry can fix: waiting a minute on a wrong CA only hides the reason.
_PERMANENT = ("certificate", "tls", "handshake", "unauthenticated", "permission", "api key")
_runtime_metrics: int | None | bool = False  # False: not configured yet in this process


def configure_runtime(settings: Settings | None = None) -> None:
    """Set the process's SDK runtime once: core logs to Python logging, metrics if asked."""
    global _runtime_metrics
    if _runtime_metrics is not False:
        return
    port = settings.metrics_port if settings else None
    telemetry = TelemetryConfig(
        logging=LoggingConfig(
            filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
            forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
        ),
        metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}") if port else None,
    )
    Runtime.set_default(Runtime(telemetry=telemetry), error_if_already_set=False)
    _runtime_metrics = port


def _read(path: str | None, what: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} {path!r} cannot be read ({exc.strerror or exc})") from None


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The TLS to use: False for a plain dev server, True for system roots, else a config."""
    cert = _read(settings.temporal_tls_cert, "ATC_TEMPORAL_TLS_CERT")
    key = _read(settings.temporal_tls_key, "ATC_TEMPORAL_TLS_KEY")
    if bool(cert) != bool(key):
        raise ConfigError("ATC_TEMPORAL_TLS_CERT and ATC_TEMPORAL_TLS_KEY go together: set both")
    ca = _read(settings.temporal_tls_ca, "ATC_TEMPORAL_TLS_CA")
    name = settings.temporal_tls_server_name
    if cert or ca or name:
        return TLSConfig(
            server_root_ca_cert=ca, domain=name, client_cert=cert, client_private_key=key
        )
    # An API key (Temporal Cloud) travels only over TLS, verified against the system roots.
    return bool(settings.temporal_api_key_env)


def api_key(settings: Settings, env: dict[str, str] | None = None) -> str | None:
    """The API key from the variable the settings name (never from a file atc writes)."""
    var = settings.temporal_api_key_env
    if not var:
        return None
    value = (os.environ if env is None else env).get(var)
    if not value:
        raise ConfigError(f"ATC_TEMPORAL_API_KEY_ENV names {var}, but {var} is not set")
    return value


def describe(settings: Settings) -> str:
    """Where and how atc connects, for messages (no secret in it)."""
    how = "plain"
    if settings.temporal_api_key_env:
        how = f"API key from ${settings.temporal_api_key_env}"
    elif settings.temporal_tls_cert:
        how = "mTLS"
    elif settings.temporal_tls_ca or settings.temporal_tls_server_name:
        how = "TLS"
    return f"{settings.temporal_address} namespace {settings.temporal_namespace} ({how})"


async def connect(settings: Settings, *, within_s: float = RECONNECT_S) -> Client:
    """A client for the configured cluster, retried for ``within_s`` while it is unreachable.

    Raises ConfigError (exit 2) for unreadable TLS files or a missing key
    variable, TemporalError (exit 1) when the cluster cannot be reached or
    refuses the handshake; both are one line.
    """
    configure_runtime(settings)
    tls, key = tls_config(settings), api_key(settings)
    deadline, delay = time.monotonic() + within_s, 0.5
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                tls=tls,
                api_key=key,
            )
        except Exception as exc:  # noqa: BLE001 - any connect failure means the same to a user
            reason = " ".join(str(exc).split())
            permanent = any(word in reason.lower() for word in _PERMANENT)
            if permanent or time.monotonic() + delay > deadline:
                raise TemporalError(
                    f"cannot connect to Temporal at {describe(settings)}: {reason}; start one "
                    "with `atc up` (or `temporal server start-dev`) and check ATC_TEMPORAL_*"
                ) from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def connection_material(settings: Settings) -> dict[str, Any]:
    """What a process that cannot read atc's settings or files needs to connect as atc does.

    For the isolated child that hosts drafted workflow code: it sees neither the
    data directory nor the environment, so the parent hands over the address,
    namespace, TLS material (PEM text) and API key. A workflow worker needs the
    namespace's credentials whatever runs in it; give that worker a namespace
    and key of its own, with no more rights than running workflows there.
    """
    tls = tls_config(settings)
    material: dict[str, Any] = {
        "address": settings.temporal_address,
        "namespace": settings.temporal_namespace,
        "tls": bool(tls),
        "api_key": api_key(settings),
    }
    if isinstance(tls, TLSConfig):
        material["tls"] = {
            "ca": _text(tls.server_root_ca_cert),
            "cert": _text(tls.client_cert),
            "key": _text(tls.client_private_key),
            "server_name": tls.domain,
        }
    return material


def _text(pem: bytes | None) -> str | None:
    return pem.decode("ascii") if pem else None


async def connect_with(material: dict[str, Any]) -> Client:
    """A client from :func:`connection_material` (no retries: the caller restarts)."""
    tls = material.get("tls") or False
    if isinstance(tls, dict):
        tls = TLSConfig(
            server_root_ca_cert=_bytes(tls.get("ca")),
            domain=tls.get("server_name"),
            client_cert=_bytes(tls.get("cert")),
            client_private_key=_bytes(tls.get("key")),
        )
    return await Client.connect(
        material["address"],
        namespace=material["namespace"],
        tls=tls,
        api_key=material.get("api_key"),
    )


def _bytes(text: str | None) -> bytes | None:
    return text.encode("ascii") if text else None
