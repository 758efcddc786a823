"""Settings from the environment (``ATC_*``) and an optional ``atc.toml``.

Environment variables win over the file. Nothing here holds a secret value
read from disk into workflow inputs: keys are referenced by name.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from copilot.errors import ConfigError

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
# The scoped tokens atc mints for the gateway: issuer, audience, lifetime (default and most).
# copilot.scopes.tokens and the token commands use these too, so the local estate agrees.
TOKEN_ISSUER = "atc"
TOKEN_AUDIENCE = "atc-gateway"
TOKEN_TTL_S = 300
TOKEN_MAX_TTL_S = 900


@dataclass(frozen=True)
class Settings:
    """atc's settings; see README "Configuration"."""

    data_dir: Path = field(default_factory=lambda: Path(".atc"))
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key_env: str = "OPENAI_API_KEY"
    llm_timeout_s: float = 60.0
    repair_attempts: int = 2
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "atc"
    # Reviewer identity behind a gateway or identity-aware proxy: a JWT in this header,
    # verified against this JWKS (file or URL), audience and issuer; the claim names them.
    reviewer_header: str | None = None
    reviewer_jwks: str | None = None
    reviewer_audience: str | None = None
    reviewer_issuer: str | None = None
    reviewer_claim: str = "sub"
    # Scheduled log-analysis reports (`atc reports`): the task queue their worker polls.
    reports_task_queue: str = "atc-reports"
    # Temporal clusters with TLS or Temporal Cloud, and worker metrics. The API key is named
    # by reference (the variable holding it), never stored; TLS is on when any of these is set.
    temporal_api_key_env: str | None = None
    temporal_tls_cert: str | None = None
    temporal_tls_key: str | None = None
    temporal_tls_ca: str | None = None
    temporal_tls_server_name: str | None = None
    metrics_port: int | None = None
    # Runs of approved drafts (`atc run`, `python -m workflows.runs.worker`): the gateway the
    # trusted activity worker calls (unset: a local emulator with a demo key in the data
    # directory), the *reference* of the key it signs with (file:/env:/kid:), the JWT's
    # issuer, audience and lifetime (at most TOKEN_MAX_TTL_S), and where drafted workflows run.
    gateway_url: str | None = None
    gateway_key_ref: str | None = None
    gateway_issuer: str = TOKEN_ISSUER
    gateway_audience: str = TOKEN_AUDIENCE
    gateway_token_ttl_s: int = TOKEN_TTL_S
    runs_task_queue: str = "atc-runs"
    runs_isolation: str = "auto"

    @property
    def sample_path(self) -> Path:
        return PACKAGE_DATA / "sample" / "apigee-analytics-7d.csv.gz"


_ENV = {
    "ATC_DATA_DIR": ("data_dir", Path),
    "ATC_LLM_BASE_URL": ("llm_base_url", str),
    "ATC_LLM_MODEL": ("llm_model", str),
    "ATC_LLM_API_KEY_ENV": ("llm_api_key_env", str),
    "ATC_LLM_TIMEOUT_S": ("llm_timeout_s", float),
    "ATC_REPAIR_ATTEMPTS": ("repair_attempts", int),
    "ATC_TEMPORAL_ADDRESS": ("temporal_address", str),
    "ATC_TEMPORAL_NAMESPACE": ("temporal_namespace", str),
    "ATC_TEMPORAL_TASK_QUEUE": ("temporal_task_queue", str),
    "ATC_REVIEWER_HEADER": ("reviewer_header", str),
    "ATC_REVIEWER_JWKS": ("reviewer_jwks", str),
    "ATC_REVIEWER_AUDIENCE": ("reviewer_audience", str),
    "ATC_REVIEWER_ISSUER": ("reviewer_issuer", str),
    "ATC_REVIEWER_CLAIM": ("reviewer_claim", str),
    "ATC_REPORTS_TASK_QUEUE": ("reports_task_queue", str),
    "ATC_TEMPORAL_API_KEY_ENV": ("temporal_api_key_env", str),
    "ATC_TEMPORAL_TLS_CERT": ("temporal_tls_cert", str),
    "ATC_TEMPORAL_TLS_KEY": ("temporal_tls_key", str),
    "ATC_TEMPORAL_TLS_CA": ("temporal_tls_ca", str),
    "ATC_TEMPORAL_TLS_SERVER_NAME": ("temporal_tls_server_name", str),
    "ATC_METRICS_PORT": ("metrics_port", int),
    "ATC_GATEWAY_URL": ("gateway_url", str),
    "ATC_GATEWAY_KEY_REF": ("gateway_key_ref", str),
    "ATC_GATEWAY_ISSUER": ("gateway_issuer", str),
    "ATC_GATEWAY_AUDIENCE": ("gateway_audience", str),
    "ATC_GATEWAY_TOKEN_TTL_S": ("gateway_token_ttl_s", int),
    "ATC_RUNS_TASK_QUEUE": ("runs_task_queue", str),
    "ATC_RUNS_ISOLATION": ("runs_isolation", str),
}


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read ``atc.toml`` (if present) then ``ATC_*`` environment variables."""
    env = dict(os.environ) if env is None else env
    values: dict[str, object] = {}
    toml_path = path or Path(env.get("ATC_CONFIG", "atc.toml"))
    if toml_path.exists():
        try:
            raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_path} is not valid TOML: {exc}") from exc
        known = {name for name, _ in _ENV.values()}
        for key, value in raw.get("atc", raw).items():
            if key not in known:
                raise ConfigError(f"unknown setting {key!r} in {toml_path}; known: {sorted(known)}")
            values[key] = value
    for var, (name, kind) in _ENV.items():
        if env.get(var):
            try:
                values[name] = kind(env[var])
            except ValueError as exc:
                raise ConfigError(f"{var}={env[var]!r} is not a valid {kind.__name__}") from exc
    if "data_dir" in values:
        values["data_dir"] = Path(str(values["data_dir"]))
    return Settings(**values)  # type: ignore[arg-type]
