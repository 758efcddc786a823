"""FlowCallout ``<Parameters>``: the flow variables a call site sets before its shared flow runs.

Apigee sets each ``<Parameter>`` of a FlowCallout as a flow variable before the
called shared flow runs, so a policy in the shared flow that reads it by ``ref``
sees the caller's value (cloud.google.com/apigee/docs/api-platform/reference/
policies/flow-callout-policy, "Parameters"). ``<Parameter name="v">text</Parameter>``
and ``value="text"`` set ``v`` to that text; ``ref="x"`` sets it to the value of
``x``, kept here as the message template ``{x}``. A shared flow called by several
proxies may so run with a different rate in each; :func:`resolve` gives a limit as
it runs in one proxy. The estate keeps one :class:`CurrentPolicy` per policy file
(its refs unresolved) and each :class:`Attachment` carries its call site's values.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from copilot.throttling.bundle_model import CurrentPolicy
from copilot.throttling.bundle_policies import identifier_kind

Params = tuple[tuple[str, str], ...]  # (flow variable, value or "{other variable}")
_WHOLE_REF = re.compile(r"^\{\s*([A-Za-z_][\w.\-]*)\s*\}$")
# CurrentPolicy fields naming a flow variable a call site may set.
REF_FIELDS = ("rate_ref", "allow_ref", "interval_ref", "time_unit_ref", "message_weight_ref",
              "identifier")  # fmt: skip


def callout_params(root: ET.Element) -> Params:
    """A FlowCallout's parameters in order (a later one of the same name wins)."""
    out: dict[str, str] = {}
    for node in root.findall("Parameters/Parameter"):
        name = (node.get("name") or "").strip()
        if not name:
            continue
        ref = (node.get("ref") or "").strip()
        value = node.get("value")
        out[name] = "{" + ref + "}" if ref else (value if value is not None else node.text or "")
        out[name] = out[name].strip()
    return tuple(out.items())


def merged(outer: Params, inner: Params) -> Params:
    """The variables set when a shared flow called with ``outer`` calls another with ``inner``:
    both (inner wins), an inner ``{x}`` read from ``outer`` when the outer call set ``x``."""
    known = dict(outer)
    for name, value in inner:
        ref = ref_of(value)
        known[name] = known.get(ref, value) if ref else value
    return tuple(known.items())


def ref_of(value: str) -> str | None:
    """The variable a value names when it is exactly ``{variable}``."""
    match = _WHOLE_REF.match(value)
    return match.group(1) if match else None


def resolve(policy: CurrentPolicy, proxy: str) -> CurrentPolicy:
    """``policy`` as it runs in ``proxy``: every ref its call sites there set, replaced by the
    value set (``resolved`` says which and by whom). A ref the call sites set differently, or
    that only some of them set, stays a ref (``resolved`` says so)."""
    sites = policy.runs_in(proxy)
    if not any(a.params for a in sites):
        return policy
    changes: dict = {}
    said: list[str] = []
    for field in REF_FIELDS:
        var = getattr(policy, field)
        values = {dict(a.params).get(var) for a in sites} if var else {None}
        if values == {None}:
            continue
        callers = ", ".join(sorted({a.via for a in sites if a.via and var in dict(a.params)}))
        if len(values) > 1:
            shown = ", ".join(sorted("(not set)" if v is None else v for v in values))
            said.append(f"{var} is set differently by the call sites in {proxy} ({shown}); "
                        f"atc keeps the policy's own fallback")  # fmt: skip
            continue
        value = values.pop() or ""
        change, why = _apply(field, value)
        changes.update(change)
        said.append(f"{var} = {value!r}, set by {callers}" + (f" ({why})" if why else ""))
    return replace(policy, **changes, resolved=tuple(said)) if said else policy


def _apply(field: str, value: str) -> tuple[dict, str]:
    """(field changes, a remark) for ``field``'s variable set to ``value`` by a call site."""
    ref = ref_of(value)
    if field == "identifier":
        if ref:
            return {"identifier": ref, "identifier_kind": identifier_kind(ref)}, ""
        if "{" in value:
            return {}, "a message template atc cannot evaluate; the identity stays unknown"
        return {"identifier": None, "identifier_kind": "none"}, "one constant: a single counter"
    if ref:  # now read from another variable: still a ref, the literal still the fallback
        return {field: ref}, ""
    if "{" in value:
        return {}, "a message template atc cannot evaluate; the fallback stays"
    target = {"rate_ref": "rate", "allow_ref": "allow", "interval_ref": "interval",
              "time_unit_ref": "time_unit", "message_weight_ref": "message_weight"}[field]  # fmt: skip
    if target in ("rate", "time_unit"):
        return {target: value, field: None}, ""
    try:
        number = int(value)
    except ValueError:
        return {}, "not a whole number; the fallback stays"
    return {target: number, field: None}, ""
