"""Read the SpikeArrest and Quota policies an estate's bundles hold, with Apigee's semantics.

An estate is every proxy (``apiproxy/``) and shared flow (``sharedflowbundle/``)
found at the paths given (:mod:`copilot.throttling.bundle_read`), plus an
environment's flow hooks when a ``flowhooks`` file lies next to them or is
given (:mod:`copilot.throttling.bundle_hooks`). A policy runs where a
``<Step>`` names it, under the AND of the step's and its flow's conditions
(:mod:`copilot.throttling.bundle_flows`); a shared flow's policies run in the
proxies that call it by a ``FlowCallout`` and, through a flow hook, in every
proxy of the environment. Each limit keeps what its XML says
(:mod:`copilot.throttling.bundle_policies`); every policy file lands exactly
once in :attr:`Estate.policies`, :attr:`Estate.other` or :attr:`Estate.unmodelled`.
(cloud.google.com/apigee/docs/api-platform/reference/policies/spike-arrest-policy,
.../quota-policy, .../flow-callout-policy; .../fundamentals/shared-flows)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from copilot.errors import BundleError, InputError
from copilot.throttling import bundle_policies as bp
from copilot.throttling.bundle_flows import (
    StepRef,
    and_text,
    base_paths,
    route_condition,
    route_rules,
    step_refs,
)
from copilot.throttling.bundle_hooks import parse_hooks
from copilot.throttling.bundle_model import (
    Attachment,
    BundleInfo,
    CurrentPolicy,
    Estate,
    OtherPolicy,
    Unmodelled,
)
from copilot.throttling.bundle_notes import condition_notes, limit_notes, never_runs
from copilot.throttling.bundle_params import Params, callout_params, merged
from copilot.throttling.bundle_read import RawBundle, find
from copilot.throttling.policies_xml import check_policy_name

__all__ = ["Attachment", "BundleInfo", "CurrentPolicy", "Estate", "OtherPolicy", "Unmodelled",
           "read_bundles", "read_estate"]  # fmt: skip
MAX_CALL_DEPTH = 8  # shared flows calling shared flows; deeper is a loop


@dataclass
class _Bundle:
    raw: RawBundle
    name: str
    steps: list[StepRef]
    policies: dict[str, tuple[ET.Element, str]]  # policy name -> (root, file)
    base_paths: tuple[str, ...]
    aliases: tuple[str, ...] = ()  # other names it may be deployed under (file, folder)
    attached_by: list[str] = field(default_factory=list)


def read_bundles(path: str | Path) -> list[CurrentPolicy]:
    """Every throttling policy of the bundle(s) at ``path``: ``read_estate(path).policies``."""
    return read_estate(path).policies


def read_estate(paths: str | Path | Iterable[str | Path]) -> Estate:
    """Every bundle, limit, other policy and unmodelled thing at ``paths`` (module docstring)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    raws: list[RawBundle] = []
    hook_files: list[tuple[str, bytes]] = []
    for path in paths:
        found, hooks = find(Path(path))
        if not found and not hooks:
            raise BundleError(
                f"{path}: no apiproxy/ or sharedflowbundle/ bundle found (directory or zip)"
            )
        raws += found
        hook_files += hooks
    notes: list[str] = []
    bundles: dict[tuple[str, str], _Bundle] = {}
    for raw in raws:
        b = _load(raw)
        if (raw.kind, b.name) in bundles:
            # Two descriptors with one name: the deployed name is often the file's or folder's.
            free = [a for a in b.aliases if (raw.kind, a) not in bundles]
            if not free:
                notes.append(f"{raw.kind} {b.name} found twice; {raw.label} is ignored")
                continue
            notes.append(f"{raw.kind} {b.name} found twice; {raw.label} is read as {free[0]}")
            b.name = free[0]
        bundles[(raw.kind, b.name)] = b
    hooks = [h for label, data in hook_files for h in parse_hooks(label, data)]
    placed = _attach(bundles, hooks, notes)
    return _estate(bundles, placed, notes)


def _load(raw: RawBundle) -> _Bundle:
    steps: list[StepRef] = []
    paths: list[str] = []
    policies: dict[str, tuple[ET.Element, str]] = {}
    routes: list[list[tuple[str, str]]] = []  # per ProxyEndpoint
    name, stem = None, None
    flow_dirs = ("proxies/", "targets/") if raw.kind == "proxy" else ("sharedflows/",)
    for file, data in sorted(raw.files.items()):  # proxies/ before targets/: routes first
        if file.startswith(flow_dirs):
            root = _parse(raw.label, file, data)
            found = step_refs(root, file)
            if file.startswith("proxies/"):
                paths += base_paths(root)
                routes.append(route_rules(root))
            elif file.startswith("targets/"):
                found = _routed(found, route_condition(routes, root.get("name") or ""))
            steps += found
        elif file.startswith("policies/"):
            root = _parse(raw.label, file, data)
            policy = _checked_name(raw.label, file, root.get("name") or PurePosixPath(file).stem)
            policies[policy] = (root, file)
        elif "/" not in file and name is None:
            root = _parse(raw.label, file, data)
            if root.tag in ("APIProxy", "SharedFlowBundle") and root.get("name"):
                name, stem = str(root.get("name")), PurePosixPath(file).stem
    folder = PurePosixPath(raw.label.replace("!", "/")).parent.name
    name = name or folder or "unknown"
    aliases = tuple(a for a in dict.fromkeys([stem, folder]) if a and a != name)
    return _Bundle(raw, name, steps, policies, tuple(dict.fromkeys(paths)), aliases)


def _routed(steps: list[StepRef], condition: str | None) -> list[StepRef]:
    """A TargetEndpoint's steps run only when a RouteRule picks it: add that condition."""
    if not condition:
        return steps
    return [StepRef(s.policy, s.where, (condition, *s.conditions), s.fault) for s in steps]


@dataclass(frozen=True)
class _Call:
    """A shared flow run from somewhere: by a flow hook or a FlowCallout."""

    flow: str
    via: str
    conditions: tuple[str, ...]
    proxy: str | None
    fault: bool
    depth: int = 0
    params: Params = ()  # flow variables set by the FlowCallout(s) on the way


def _attach(bundles: dict, hooks: list[tuple[str, str]], notes: list[str]) -> dict:
    """(bundle kind, bundle, policy) -> its attachments, following shared-flow calls."""
    placed: dict[tuple[str, str, str], list[Attachment]] = {}
    calls: list[_Call] = []
    for (kind, name), b in bundles.items():
        if kind != "proxy":
            continue
        for s in b.steps:
            att = Attachment(s.where, and_text(s.conditions), None, name, s.fault)
            placed.setdefault((kind, name, s.policy), []).append(att)
            calls += _callouts(b, s, f"FlowCallout {s.policy} in proxy {name}", (), name, False, 0, ())
    for point, flow in hooks:
        calls.append(_Call(flow, f"flowhook:{point}", (), None, False))
    while calls:
        call = calls.pop(0)
        target = _shared_flow(bundles, call.flow)
        if target is None:
            notes.append(f"{call.via} runs shared flow {call.flow}, which is not among the bundles "
                         f"read: its limits are unknown to atc")  # fmt: skip
            continue
        if call.depth == 0:
            target.attached_by.append(call.via)
        if call.depth >= MAX_CALL_DEPTH:
            notes.append(f"{call.via}: shared flows call each other more than {MAX_CALL_DEPTH} deep; "
                         f"atc stops following the chain there")  # fmt: skip
            continue
        for s in target.steps:
            conds = (*call.conditions, *s.conditions)
            att = Attachment(f"{call.flow}:{s.where}", and_text(conds), call.via, call.proxy,
                             call.fault or s.fault, call.params)  # fmt: skip
            placed.setdefault(("sharedflow", call.flow, s.policy), []).append(att)
            via = f"{call.via} -> FlowCallout {s.policy} in sharedflow {call.flow}"
            calls += _callouts(target, s, via, call.conditions, call.proxy, call.fault,
                               call.depth + 1, call.params)  # fmt: skip
    return placed


def _shared_flow(bundles: dict, name: str) -> _Bundle | None:
    """The shared flow a FlowCallout or flow hook names: by descriptor name, else by the
    one bundle whose descriptor file or folder carries that name."""
    found = bundles.get(("sharedflow", name))
    if found is not None:
        return found
    by_alias = [b for (k, _), b in bundles.items() if k == "sharedflow" and name in b.aliases]
    return by_alias[0] if len(by_alias) == 1 else None


def _callouts(
    b: _Bundle, s: StepRef, via: str, outer: tuple[str, ...], proxy, fault, depth, params: Params
) -> list[_Call]:
    found = b.policies.get(s.policy)
    if found is None or found[0].tag != "FlowCallout":
        return []
    flow = bp.callout_target(found[0])
    if flow is None:
        return []
    inner = merged(params, callout_params(found[0]))
    return [_Call(flow, via, (*outer, *s.conditions), proxy, fault or s.fault, depth, inner)]


def _estate(bundles: dict, placed: dict, notes: list[str]) -> Estate:
    infos, policies, other, unmodelled = [], [], [], []
    for (kind, name), b in bundles.items():
        waits = [bp.retry_after(root) for policy, (root, _) in sorted(b.policies.items())
                 if placed.get((kind, name, policy))]  # fmt: skip
        wait = next((w for w in waits if w is not None), None)
        attached_by = tuple(dict.fromkeys(b.attached_by))
        infos.append(BundleInfo(name, kind, b.base_paths, b.raw.label, attached_by, wait))
        for policy, (root, file) in sorted(b.policies.items()):
            where = placed.get((kind, name, policy), [])
            source = f"{b.raw.label}/{file}"
            if root.tag in bp.LIMITS:
                if not where:
                    unmodelled.append(
                        Unmodelled(name, policy, source, never_runs(kind, name, root.tag))
                    )
                    continue
                p = _limit(root, name, kind, policy, source, tuple(where))
                policies.append(p)
                unmodelled += limit_notes(p)
            elif root.tag in bp.UNMODELLED_LIMITS:
                reason = f"{root.tag} {policy} {bp.UNMODELLED_LIMITS[root.tag]}"
                unmodelled.append(Unmodelled(name, policy, source, reason))
            else:
                other.append(OtherPolicy(name, policy, root.tag, bp.role(root)))
    unmodelled += condition_notes(policies)
    for b in bundles.values():
        known = set(b.policies)
        for s in b.steps:
            if s.policy not in known:
                notes.append(
                    f"{b.name}: step {s.policy} at {s.where} names no policy file of the bundle"
                )
    return Estate(infos, policies, other, unmodelled, notes)


def _limit(root, bundle: str, kind: str, name: str, source: str, where) -> CurrentPolicy:
    fields = bp.common_fields(root)
    fields.update(bp.spike_fields(root) if root.tag == "SpikeArrest" else bp.quota_fields(root))
    return CurrentPolicy(proxy=bundle, name=name, source=source, bundle_kind=kind,
                         attachments=where, **fields)  # fmt: skip


def _parse(label: str, name: str, data: bytes) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise BundleError(f"{label}/{name}: not well-formed XML ({exc})") from exc


def _checked_name(label: str, file: str, name: str) -> str:
    try:
        return check_policy_name(name)
    except InputError as exc:
        raise BundleError(f"{label}/{file}: {exc.message}") from None
