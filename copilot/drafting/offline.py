"""The offline planner: a deterministic WorkflowSpec from a request, no LLM.

It reads the request (:mod:`copilot.drafting.offline_parse`), maps each
action onto the catalog operation that fits it best, preferring ones the
scopes grant (an operation outside them is kept, so validation names the
missing scope: nothing is silently swapped), fills path parameters from
typed inputs (:mod:`copilot.drafting.offline_steps`) and lays the steps out:
a threshold branch, the approval with its reject path and what silence does
(``stop`` unless the request says otherwise: escalating to a notification,
or an explicit reject/approve/fail; never the reject branch by default),
sleeps, polls, status guards, parallel groups and notifications. Every link
is explicit.
Its output says plainly that no LLM was used.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from copilot.drafting.offline_lexicon import profile, resource_of
from copilot.drafting.offline_parse import Action, Reading, read_request
from copilot.drafting.offline_steps import StepMaker, ref
from copilot.drafting.planner import OFFLINE_NOTE, allowed_operations
from copilot.drafting.record import PlanInput, PlanOutput
from copilot.errors import InputError
from copilot.scopes.catalog import Catalog

DEFAULT_APPROVAL_S = 86400
DEFAULT_POLL_ATTEMPTS = 50  # the most WF004 allows: a poll is one activity's retry policy


class OfflinePlanner:
    """Deterministic planning by keyword and verb matching; no network, no model."""

    name = "offline"
    model: str | None = None
    repairable = False  # the same request gives the same spec: nothing to repair with

    def plan(self, data: PlanInput, catalog: Catalog) -> PlanOutput:
        doc, notes = draft_offline(data, catalog)
        basis = json.dumps({"request": data.request, "scopes": list(data.scopes)})
        return PlanOutput(
            answer=doc,
            planner=self.name,
            prompt_hash=hashlib.sha256(basis.encode("utf-8")).hexdigest(),
            notes=[OFFLINE_NOTE, *notes],
        )


def _translate(actions: list[Action], maker: StepMaker, done: list[dict]) -> list[dict]:
    """Step documents for one path; parallel children follow their parallel step."""
    out: list[dict] = []
    groups: dict[int, dict] = {}
    for action in actions:
        if action.kind == "sleep":
            out.append(
                {
                    "id": maker.step_id(f"wait_{_human(action.seconds)}"),
                    "kind": "sleep",
                    "duration_s": action.seconds,
                }
            )
        elif action.kind == "notify":
            if step := maker.notify(action):
                out.append(step)
        elif action.kind == "guard":
            out += _guard(action, maker, done + out)
        elif action.kind in ("call", "poll") and (step := _call(action, maker)) is not None:
            out += _grouped(step, action.group, groups, maker)
    for group in groups.values():
        if len(group["steps"]) < 2:  # one call is not parallel: run it in sequence
            out.remove(group)
            child = next(s for s in out if s["id"] == group["steps"][0])
            child.pop("_child")
    return out


def _guard(action: Action, maker: StepMaker, before: list[dict]) -> list[dict]:
    """A status check on the subject (reading it first when no earlier step did)."""
    out: list[dict] = []
    fetched = _last_fetch(before, maker)
    if fetched is None and (op := maker.match("get", [maker.subject])):
        fetched = maker.call(Action("call", "get", [maker.subject]), op)
        out.append(fetched)
    if fetched is None:
        return out
    left = "${steps." + fetched["id"] + ".body.status}"
    out.append(
        {
            "id": maker.step_id(f"check_{maker.subject}_status"),
            "kind": "branch",
            "condition": {"left": left, "op": "eq", "right": action.status},
            "if_true": None,
            "if_false": "end",
        }
    )
    return out


def _call(action: Action, maker: StepMaker) -> dict | None:
    """The call (or poll) step for ``action``, or None when no operation matches."""
    op = maker.match(action.verb, action.nouns)
    if op is None:
        return None
    step = maker.call(action, op)
    if action.kind == "poll":
        step.pop("retry")  # a poll's attempts and interval are its retry policy
        left = "${steps." + step["id"] + ".body.status}"
        step["poll"] = {
            "until": {"left": left, "op": "eq", "right": action.status},
            "interval_s": action.interval,
            "max_attempts": DEFAULT_POLL_ATTEMPTS,
        }
    return step


def _grouped(step: dict, group_no: int, groups: dict[int, dict], maker: StepMaker) -> list[dict]:
    """``step``, preceded by its parallel step when it opens a group."""
    if not group_no:
        return [step]
    step["_child"] = True
    if group_no in groups:
        groups[group_no]["steps"].append(step["id"])
        return [step]
    group = {"id": maker.step_id("in_parallel"), "kind": "parallel", "steps": [step["id"]]}
    groups[group_no] = group
    return [group, step]


def _last_fetch(steps: list[dict], maker: StepMaker) -> dict | None:
    """The latest step that read the subject itself (``orders.get`` for an order)."""
    reads = {p.op.id for p in maker.profiles if p.verb == "get" and p.target == maker.subject}
    return next((s for s in reversed(steps) if s.get("operation") in reads), None)


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _link(path: list[dict], end: str) -> None:
    """Chain a path: each sequential step goes to the next; the last to ``end``."""
    seq = [s for s in path if not s.get("_child")]
    if not seq:
        return
    for step, following in zip(seq, [*[s["id"] for s in seq[1:]], end], strict=True):
        if step["kind"] == "branch":
            step["if_true"] = step["if_true"] or following
        elif step["kind"] == "approval":
            step["next"] = following
        else:
            step["next"] = following


def _layout(reading: Reading, maker: StepMaker) -> list[dict]:
    main = reading.main
    cut = next((i for i, a in enumerate(main) if a.kind == "approval"), None)
    pre = _translate(main[:cut] if cut is not None else main, maker, [])
    approval = main[cut] if cut is not None else None
    post = _translate(main[cut + 1 :], maker, pre) if cut is not None else []
    reject = _translate(reading.reject, maker, pre) if approval else []
    escalation = _translate(reading.escalation, maker, pre) if approval else []
    if reading.reject and not approval:
        maker.notes.append("the request names a rejection path but no approval; it was left out")
    first = lambda steps: next((s["id"] for s in steps if not s.get("_child")), "end")  # noqa: E731
    gate: list[dict] = []
    if reading.threshold:
        op, value = reading.threshold
        example = value * 1.25 if op in ("gt", "ge") else value / 2
        maker.input("amount", "number", float(math.ceil(example)), f"the {maker.subject}'s amount")
        gate = [
            {
                "id": maker.step_id("check_amount"),
                "kind": "branch",
                "condition": {"left": ref("amount"), "op": op, "right": value},
                "if_true": None,
                "if_false": "end",
            }
        ]
    steps: list[dict] = []
    if approval is not None:
        who = approval.approver
        subject = maker.subject
        about = f"{subject} " + ref(f"{subject}_id") if f"{subject}_id" in maker.inputs else subject
        amount = " (amount " + ref("amount") + ")" if "amount" in maker.inputs else ""
        node = {
            "id": maker.step_id(f"{who}_approval"),
            "kind": "approval",
            "approver": who,
            "prompt": f"Approve {about}{amount}?",
            "timeout_s": approval.seconds or DEFAULT_APPROVAL_S,
            **_on_timeout(reading, escalation, maker),
            "on_reject": first(reject),
            "next": None,
        }
        if not approval.seconds:
            maker.notes.append("no approval deadline was given; the approval waits 24 hours")
        if gate:
            gate[0]["if_false"] = first(post)
        _link(pre + gate + [node], node["id"])
        _link(post, "end")
        _link(reject, "end")
        _link(escalation, "end")
        node["next"] = first(post)
        steps = pre + gate + [node] + post + reject + escalation
    else:
        _link(gate + pre, "end")
        steps = gate + pre
    for step in steps:
        step.pop("_child", None)
    return steps


def _on_timeout(reading: Reading, escalation: list[dict], maker: StepMaker) -> dict[str, Any]:
    """What an unanswered approval does: what the request said, else stop."""
    if escalation:
        first = next(s["id"] for s in escalation if not s.get("_child"))
        return {"on_timeout": "escalate", "on_timeout_next": first}
    if reading.silence in ("", "escalate"):
        said = "names nothing to escalate to" if reading.silence else "does not say"
        maker.notes.append(
            f"the request {said} what happens when nobody answers; the workflow stops then"
        )
        return {"on_timeout": "stop"}
    return {"on_timeout": reading.silence}


_KIND_WORDS = {
    "approval": "approval",
    "sleep": "wait",
    "parallel": "",
    "branch": "",
    "notify": "notify",
}


def _word(step: dict, ops: list) -> str:
    if step.get("poll"):
        return "poll"
    if step["kind"] != "call":
        return _KIND_WORDS[step["kind"]]
    op = next((o for o in ops if o.id == step["operation"]), None)
    return profile(op).verb if op else "call"


def draft_offline(request: PlanInput, catalog: Catalog) -> tuple[dict[str, Any], list[str]]:
    """The spec document for ``request`` and the planner's notes."""
    ops = list(catalog.operations)
    vocabulary = {n for op in ops for n in profile(op).nouns}
    subjects = {resource_of(op) for op in ops if op.params}
    reading = read_request(request.request, vocabulary, subjects)
    maker = StepMaker(
        ops, {op.id for op in allowed_operations(request, catalog)}, reading.subject or "item"
    )
    steps = _layout(reading, maker)
    if not any(s["kind"] in ("call", "notify") for s in steps):
        raise InputError(
            "the offline planner found no operation to call in the request; name an action and "
            "what it acts on (e.g. 'cancel the order', 'email the customer'), or configure an LLM"
        )
    waits = sum(
        s.get("duration_s", 0) + s.get("timeout_s", 0) * (s["kind"] == "approval") for s in steps
    )
    waits += sum(
        s["poll"]["interval_s"] * s["poll"]["max_attempts"] for s in steps if s.get("poll")
    )
    name = "_".join(dict.fromkeys([maker.subject, *(_word(s, ops) for s in steps)]))
    name = name.replace("__", "_")[:48].strip("_")
    doc = {
        "name": name if len(name) >= 3 else f"{name}_workflow",
        "description": f"{request.request.strip()[:1900]} ({OFFLINE_NOTE})",
        "inputs": sorted(maker.inputs.values(), key=lambda i: i["name"]),
        "steps": steps,
        "execution_timeout_s": int(math.ceil((waits + 3600) / 3600) * 3600),
    }
    return doc, maker.notes
