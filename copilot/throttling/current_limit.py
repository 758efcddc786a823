"""The limit in force now that a suggestion replaces, as one typed value.

It comes from a proxy bundle (``source == "bundle"``: the policy and its value
are known) or from the logs alone (``source == "logs"``: which SpikeArrest or
Quota refused whose requests, not its value; a Quota's hourly allowance may be
inferred). :func:`copilot.throttling.current.for_proxy` and its siblings build
it; :meth:`CurrentLimit.to_dict` is its JSON in ``atc suggest --json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.rates import per_minute


@dataclass(frozen=True)
class Refusal:
    """A policy seen in the logs refusing requests, and how many."""

    policy: str
    refused: int

    def to_dict(self) -> dict:
        return {"policy": self.policy, "refused": self.refused}


@dataclass(frozen=True)
class CurrentLimit:
    """The SpikeArrest or Quota now in place for a suggestion's target (module docstring)."""

    source: str  # bundle | logs
    kind: str  # SpikeArrest | Quota
    policy: str | None  # None: several SpikeArrests refused the proxy's requests (refusals)
    value: str | None  # the value in words; None when the logs cannot tell it
    per_minute: float | None = None  # a bundle SpikeArrest's rate per minute, when it parses
    allow_inferred: int | None = None  # a Quota's hourly allowance, inferred from the logs
    refusals: tuple[Refusal, ...] = ()  # from the logs: who refused, how many
    note: str | None = None  # from the logs: what to pass to know more
    bundle_policy: CurrentPolicy | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_bundle(cls, policy: CurrentPolicy, allow_inferred: int | None = None) -> CurrentLimit:
        rate = None
        if policy.kind == "SpikeArrest":
            try:
                rate = per_minute(policy.rate or "")
            except Exception:  # noqa: BLE001 - a rate from a ref or malformed: unknown
                rate = None
        return cls(
            "bundle", policy.kind, policy.name, policy.value_text(), rate, allow_inferred,
            bundle_policy=policy,
        )  # fmt: skip

    @property
    def policies(self) -> list[str]:
        """The policy names it stands for (several only for a proxy's refusals in the logs)."""
        return [r.policy for r in self.refusals] if self.policy is None else [self.policy]

    @property
    def refused(self) -> int:
        """Requests the logs show it refused (0 for a bundle limit)."""
        return sum(r.refused for r in self.refusals)

    def summary(self) -> str:
        """``policy value`` (and the hourly allowance the logs show), or the policies that
        refused and that their value is unknown."""
        if self.value:
            text = f"{self.policy or ''} {self.value}".strip()
            if self.allow_inferred:
                text += f"; ~{self.allow_inferred}/hour seen in the logs"
            return text
        return ", ".join(self.policies) + " (value unknown)"

    def to_dict(self) -> dict:
        """The JSON of ``atc suggest --json`` (``current`` of a suggestion)."""
        if self.bundle_policy is not None:
            out = _bundle_dict(self.bundle_policy, self.per_minute)
        elif self.policy is None:  # a proxy's refusals: every policy that refused
            out = {"source": "logs", "policies": [r.to_dict() for r in self.refusals]}
        else:
            out = {"source": "logs", "policy": self.policy, "refused": self.refused}
        if self.bundle_policy is None:
            out.update(value=self.value, note=self.note)
        if self.allow_inferred:
            out["allow_inferred"] = self.allow_inferred
        return out


def _bundle_dict(policy: CurrentPolicy, rate_per_minute: float | None) -> dict:
    out = {
        "source": "bundle",
        "policy": policy.name,
        "bundle": policy.proxy,
        "bundle_kind": policy.bundle_kind,
        "identity": policy.identifier_kind,
        "value": policy.value_text(),
        "enabled": policy.enabled,
        "enforces": policy.enforces,
        "attached": list(policy.attached),
        "conditions": list(policy.conditions),
        "via": sorted({a.via for a in policy.attachments if a.via}),
    }
    if policy.kind == "SpikeArrest":
        out["rate"] = policy.rate
        out["use_effective_count"] = bool(policy.use_effective_count)
        out["per_minute"] = rate_per_minute
    else:
        out.update(
            allow=policy.allow,
            allow_ref=policy.allow_ref,
            interval=policy.interval,
            time_unit=policy.time_unit,
            type=policy.quota_type or "default",
        )
    return out
