"""One policy file read with Apigee's semantics: a limit atc models, another policy, or neither.

SpikeArrest and Quota become the fields of a ``CurrentPolicy``
(spike-arrest-policy and quota-policy references,
cloud.google.com/apigee/docs/api-platform/reference/policies/...): the
``<Identifier ref>`` and what kind of identity it names, ``<MessageWeight>``,
``continueOnError``, Quota's ``<CountOnly>``/``<EnforceOnly>``/``<SharedName>``
(a counter and an enforcer sharing one counter), ``<Synchronous>``, and the
``ref`` of ``<Rate>``, ``<Allow countRef>``, ``<Interval>`` and ``<TimeUnit>`` (the
reference wins at runtime when it resolves, the literal is the fallback).
Policies that establish who calls (VerifyAPIKey, OAuthV2 VerifyAccessToken,
VerifyJWT...) and FlowCallouts are other policies with a role; limits atc
does not replay (ResetQuota, ConcurrentRatelimit, LLM token limits) are
unmodelled, with what is ignored.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

IDENTITY_KINDS = ("app", "developer", "client_id", "api_key", "client_ip", "jwt_claim", "product",
                  "custom", "none")  # fmt: skip
_KIND_PATTERNS = (
    ("jwt_claim", re.compile(r"^jwt\.[^.]+\.(decoded\.)?(claim|header)\.", re.I)),
    (
        "client_ip",
        re.compile(
            r"(^|\.)(client\.ip|proxy\.client\.ip|client_ip)$|x-forwarded-for|"
            r"true-client-ip|x-real-ip",
            re.I,
        ),
    ),  # fmt: skip
    (
        "app",
        re.compile(r"(^|\.)(developer\.app\.name|app\.name|developer\.app\.id|app\.id)$", re.I),
    ),
    ("client_id", re.compile(r"(^|\.)(client_id|consumer_key|client\.id)$", re.I)),
    ("developer", re.compile(r"(^|\.)(developer\.(email|id|name)|developer_email)$", re.I)),
    ("product", re.compile(r"(^|\.)(apiproduct\.name|api_product)$", re.I)),
    ("api_key", re.compile(r"api[-_]?key", re.I)),
)
LIMITS = ("SpikeArrest", "Quota")
# Policies that rate-limit or reset counters but that atc does not replay.
UNMODELLED_LIMITS = {
    "ResetQuota": "resets Quota counters at runtime; atc ignores resets and assumes every "
    "counter runs uninterrupted",
    "ConcurrentRatelimit": "limits concurrent connections to the target (Apigee Edge); atc "
    "does not replay concurrency and ignores it",
    "LLMTokenQuota": "counts LLM tokens, which the logs do not carry; atc ignores it",
    "PromptTokenLimit": "limits prompt tokens, which the logs do not carry; atc ignores it",
}
_IDENTITY = {"VerifyAPIKey", "VerifyJWT", "DecodeJWT", "VerifyJWS", "DecodeJWS", "BasicAuthentication",
             "SAMLAssertion", "AccessEntity", "GetOAuthV2Info", "GetOAuthV1Info", "OAuthV1"}  # fmt: skip


def identifier_kind(ref: str | None) -> str:
    """The kind of identity an ``<Identifier ref>`` names (``none`` without one)."""
    if not ref:
        return "none"
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(ref.strip()):
            return kind
    return "custom"


def role(root: ET.Element) -> str:
    """identity | callout | not-a-limit, for a policy atc does not replay."""
    if root.tag == "FlowCallout":
        return "callout"
    if root.tag in _IDENTITY:
        return "identity"
    if root.tag == "OAuthV2":
        operation = (root.findtext("Operation") or "").strip()
        return "identity" if operation in ("VerifyAccessToken", "") else "not-a-limit"
    return "not-a-limit"


def callout_target(root: ET.Element) -> str | None:
    """The shared flow a FlowCallout calls."""
    text = (root.findtext("SharedFlowBundle") or "").strip()
    return text or None


def common_fields(root: ET.Element) -> dict:
    """Fields every SpikeArrest and Quota has."""
    ref = _attr(root, "Identifier", "ref") or _text(root, "Identifier")
    weight = root.find("MessageWeight")
    return dict(
        kind=root.tag,
        enabled=(root.get("enabled", "true").strip().lower() != "false"),
        identifier=ref,
        identifier_kind=identifier_kind(ref),
        message_weight=None if weight is None else _int(_own_text(weight)),
        message_weight_ref=None if weight is None else (weight.get("ref") or None),
        continue_on_error=_false_unless(root.get("continueOnError"), default=False),
    )


def spike_fields(root: ET.Element) -> dict:
    return dict(
        rate=_text(root, "Rate"),
        rate_ref=_attr(root, "Rate", "ref"),
        use_effective_count=_bool(_text(root, "UseEffectiveCount")),
    )


def quota_fields(root: ET.Element) -> dict:
    allow = root.find("Allow")
    default = root.find("UseQuotaConfigInAPIProduct/DefaultConfig")
    source = default if default is not None and allow is None else root
    count = None
    if allow is not None:
        count = _int(allow.get("count"))
        count = count if count is not None else _int(_own_text(allow))
    elif default is not None:
        count = _int(_text(default, "Allow"))
    ref = allow.get("countRef") if allow is not None else None
    product = allow is None and root.find("UseQuotaConfigInAPIProduct") is not None
    if product:
        ref = "API product quota (UseQuotaConfigInAPIProduct)"
    count_only = _bool(_text(root, "CountOnly"))
    enforce_only = _bool(_text(root, "EnforceOnly"))
    quota_role = (
        "count_only" if count_only else "enforce_only" if enforce_only else "enforce_and_count"
    )
    return dict(
        allow=count,
        allow_ref=ref or None,
        interval=None if product and _text(source, "Interval") is None else _interval(source),
        interval_ref=_attr(source, "Interval", "ref"),
        time_unit=_text(source, "TimeUnit"),
        time_unit_ref=_attr(source, "TimeUnit", "ref"),
        quota_type=root.get("type"),
        start_time=_text(root, "StartTime"),
        distributed=_bool(_text(root, "Distributed")),
        synchronous=_bool(_text(root, "Synchronous")),
        quota_role=quota_role,
        shared_name=_text(root, "SharedName"),
    )


def _interval(source: ET.Element) -> int | None:
    """The literal interval; None when only a ref gives it (no fallback to replay)."""
    literal = _int(_text(source, "Interval"))
    if literal is None and _attr(source, "Interval", "ref"):
        return None
    return literal or 1


def _own_text(node: ET.Element) -> str | None:
    return (node.text or "").strip() or None


def _attr(root: ET.Element, tag: str, attr: str) -> str | None:
    node = root.find(tag)
    return None if node is None else (node.get(attr) or None)


def _text(root: ET.Element, tag: str) -> str | None:
    node = root.find(tag)
    return None if node is None else _own_text(node)


def _bool(text: str | None) -> bool | None:
    return None if text is None else text.strip().lower() == "true"


def _false_unless(text: str | None, default: bool) -> bool:
    return default if text is None else text.strip().lower() == "true"


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def retry_after(root: ET.Element) -> float | None:
    """The literal ``Retry-After`` seconds an AssignMessage or RaiseFault sets, if any.

    Apigee adds no Retry-After to its own 429s; proxies that want clients to back off
    set one in a FaultRule (AssignMessage/RaiseFault ``<Set>``/``<Add>`` ``<Headers>``).
    A templated value (``{ratelimit...}``) is not a number atc can use.
    """
    if root.tag not in ("AssignMessage", "RaiseFault"):
        return None
    for header in root.iter("Header"):
        if (header.get("name") or "").strip().lower() == "retry-after":
            try:
                value = float((header.text or "").strip())
            except ValueError:
                return None
            return value if 0 < value <= 86_400 else None
    return None
