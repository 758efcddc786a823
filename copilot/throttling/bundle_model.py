"""What atc knows of an estate's bundles: limits, other policies, what it leaves out.

Re-exported by :mod:`copilot.throttling.bundle` (the public import path).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from copilot.throttling.bundle_policies import identifier_kind

_CLIENT_COND = re.compile(
    r"(client_id|developer\.app\.name)\s*(?:=|==|equals|Equals|EQUALS)\s*\"([^\"]+)\""
)
# Identities that name the calling app: one counter per app / client id / key.
PER_CLIENT_KINDS = ("app", "client_id", "api_key")


@dataclass(frozen=True)
class Attachment:
    """One place a policy runs: ``where`` (file / flow / phase), the AND of every level's
    condition as text ("" = always), ``via`` (the flow hook or FlowCallout chain
    when reached through a shared flow) and ``params``, the flow variables the calling
    FlowCallout(s) set before the shared flow runs (:mod:`copilot.throttling.bundle_params`)."""

    where: str
    condition: str
    via: str | None = None
    proxy: str | None = None  # the proxy it runs in; None = every proxy (a flow hook)
    fault: bool = False  # in a FaultRule: runs only after a fault
    params: tuple[tuple[str, str], ...] = ()  # (variable, value or "{variable}")


@dataclass(frozen=True)
class CurrentPolicy:
    """A SpikeArrest or Quota found in a bundle (proxy or shared flow)."""

    proxy: str  # the bundle's name (a shared flow's name for a shared-flow policy)
    name: str
    kind: str  # SpikeArrest | Quota
    enabled: bool = True
    identifier: str | None = None
    rate: str | None = None
    rate_ref: str | None = None
    use_effective_count: bool | None = None
    allow: int | None = None
    allow_ref: str | None = None
    interval: int | None = None
    time_unit: str | None = None
    quota_type: str | None = None
    start_time: str | None = None
    distributed: bool | None = None
    conditions: tuple[str, ...] = ()
    attached: tuple[str, ...] = ()
    source: str = ""
    extra: dict = field(default_factory=dict)
    bundle_kind: str = "proxy"  # proxy | sharedflow
    identifier_kind: str = ""  # filled from ``identifier`` when left empty
    message_weight: int | None = None
    message_weight_ref: str | None = None
    continue_on_error: bool = False
    quota_role: str = "enforce_and_count"  # | count_only | enforce_only
    shared_name: str | None = None
    synchronous: bool | None = None
    interval_ref: str | None = None
    time_unit_ref: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # set by bundle_params.resolve: the refs one proxy's call sites set, in words
    resolved: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.identifier_kind:
            object.__setattr__(self, "identifier_kind", identifier_kind(self.identifier))
        if self.attachments and not self.attached:
            object.__setattr__(self, "attached", tuple(a.where for a in self.attachments))
            object.__setattr__(self, "conditions", tuple(a.condition for a in self.attachments))

    @property
    def identity(self) -> str:
        """What one counter is kept per: app, client_id, api_key, client_ip... or none."""
        return self.identifier_kind

    @property
    def per_client(self) -> bool:
        """Keyed on the calling app (its client id, API key or app name)."""
        return self.identifier_kind in PER_CLIENT_KINDS

    @property
    def proxy_wide(self) -> bool:
        """One counter for every caller (no ``<Identifier>``)."""
        return self.identifier_kind == "none"

    @property
    def enforces(self) -> bool:
        """Can reject a request: enabled, not continueOnError, not a CountOnly quota."""
        return self.enabled and not self.continue_on_error and self.quota_role != "count_only"

    @property
    def for_client(self) -> str | None:
        """The client id or app name its step condition singles out, if any."""
        for condition in self.conditions:
            match = _CLIENT_COND.search(condition)
            if match:
                return match.group(2)
        return None

    @property
    def unconditional(self) -> bool:
        return not self.conditions or any(not c.strip() for c in self.conditions)

    def proxies(self) -> tuple[str | None, ...]:
        """The proxies it runs in (None: every proxy of the environment, via a flow hook)."""
        return tuple(dict.fromkeys(a.proxy for a in self.attachments))

    def runs_in(self, proxy: str) -> tuple[Attachment, ...]:
        """Its attachments that run in ``proxy``."""
        if not self.attachments and self.proxy == proxy:  # built by hand, attached nowhere known
            return (Attachment("", ""),)
        return tuple(a for a in self.attachments if a.proxy in (None, proxy))

    def value_text(self) -> str:
        if self.kind == "SpikeArrest":
            ref = f" (ref {self.rate_ref})" if self.rate_ref else ""
            uec = ", UseEffectiveCount" if self.use_effective_count else ""
            return f"{self.rate or '?'}{ref}{uec}{self._flags()}"
        count = "?" if self.allow is None else str(self.allow)
        if self.allow_ref:  # the reference wins at runtime; the literal is the fallback
            count = f"from {self.allow_ref} (fallback {count})"
        interval = "?" if self.interval is None else str(self.interval)  # set by a ref only
        return (
            f"{count} per {interval} {self.time_unit or '?'} "
            f"({self.quota_type or 'default'}){self._flags()}"
        )

    def _flags(self) -> str:
        out = []
        if self.identifier_kind != "none":
            out.append(f"per {self.identifier_kind}")
        if self.message_weight is not None or self.message_weight_ref:
            out.append(f"weight {self.message_weight_ref or self.message_weight}")
        if self.quota_role != "enforce_and_count":
            out.append(
                self.quota_role.replace("_", " ")
                + (f" {self.shared_name}" if self.shared_name else "")
            )
        if self.continue_on_error:
            out.append("continueOnError: never rejects")
        out += self._call_site_values()
        out += list(self.resolved)
        if not self.enabled:
            out.append("disabled")
        return f" [{', '.join(out)}]" if out else ""

    def _call_site_values(self) -> list[str]:
        """``var = value via FlowCallout ...`` for each ref a calling FlowCallout sets."""
        if self.resolved:
            return []
        refs = {self.rate_ref, self.allow_ref, self.interval_ref, self.time_unit_ref,
                self.message_weight_ref, self.identifier} - {None}  # fmt: skip
        return [
            f"{var} = {value!r} via {a.via}"
            for a in self.attachments
            for var, value in a.params
            if var in refs
        ]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["conditions"] = list(self.conditions)
        out["attached"] = list(self.attached)
        out["attachments"] = [asdict(a) for a in self.attachments]
        out["per_client"] = self.per_client
        out["value"] = self.value_text()
        return out


@dataclass(frozen=True)
class BundleInfo:
    """One bundle read: a proxy or a shared flow."""

    name: str
    kind: str  # proxy | sharedflow
    base_paths: tuple[str, ...]
    source: str
    attached_by: tuple[
        str, ...
    ] = ()  # e.g. ("flowhook:PreProxyFlowHook", "FlowCallout FC in proxy x")
    retry_after_s: float | None = None  # a literal Retry-After an attached policy sets


@dataclass(frozen=True)
class Unmodelled:
    """Something atc reads but does not replay; ``reason`` says what is ignored and what
    atc assumes. ``policy`` is None for things that are not a policy file (a condition,
    an identifier)."""

    bundle: str
    policy: str | None
    file: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class OtherPolicy:
    """A policy that is not a limit. role: identity | callout | not-a-limit."""

    bundle: str
    policy: str
    kind: str
    role: str


@dataclass
class Estate:
    """Every bundle read, their limits, other policies and what atc leaves out."""

    bundles: list[BundleInfo]
    policies: list[CurrentPolicy]
    other: list[OtherPolicy]
    unmodelled: list[Unmodelled]
    notes: list[str] = field(default_factory=list)  # found while reading

    def warnings(self) -> list[str]:
        """What a reader of the advice must know about the bundles (one sentence each)."""
        out = list(self.notes)
        for p in self.policies:
            if p.continue_on_error:
                out.append(
                    f'{p.proxy}/{p.name}: continueOnError="true": it counts but never rejects'
                )
            if not p.enabled:
                out.append(f'{p.proxy}/{p.name}: enabled="false": it never runs')
        return out

    def to_dict(self) -> dict:
        return {
            "bundles": [asdict(b) for b in self.bundles],
            "policies": [p.to_dict() for p in self.policies],
            "other": [asdict(o) for o in self.other],
            "unmodelled": [u.to_dict() for u in self.unmodelled],
            "warnings": self.warnings(),
        }
