"""Turning read actions into step documents (the offline planner's second half)."""

from __future__ import annotations

from typing import Any

from copilot.drafting.offline_lexicon import (
    APPROVERS,
    EXAMPLES,
    PEOPLE,
    OpProfile,
    noun,
    profile,
    score,
    singular,
)
from copilot.drafting.offline_parse import Action
from copilot.scopes.operations import Operation, segments

CALL_TIMEOUT_S = 30
RETRY = {"initial_interval_s": 1.0, "backoff": 2.0, "max_interval_s": 60.0, "max_attempts": 5}


def ref(name: str) -> str:
    return "${inputs." + name + "}"


class StepMaker:
    """Builds step and input documents; remembers inputs, ids and notes as it goes."""

    def __init__(self, operations: list[Operation], allowed: set[str], subject: str) -> None:
        self.profiles: list[OpProfile] = [profile(op) for op in operations]
        self.allowed = allowed
        self.subject = subject
        self.vocabulary = {n for p in self.profiles for n in p.nouns}
        self.inputs: dict[str, dict[str, Any]] = {}
        self.ids: set[str] = set()
        self.notes: list[str] = []

    def step_id(self, base: str) -> str:
        """A unique step id from ``base``."""
        base = "".join(c if c.isalnum() else "_" for c in base.lower()).strip("_")[:36] or "step"
        candidate, n = base, 2
        while candidate in self.ids or candidate == "end":
            candidate, n = f"{base}_{n}", n + 1
        self.ids.add(candidate)
        return candidate

    def input(self, name: str, kind: str, example: Any, description: str) -> str:
        """Declare an input (once) and return its reference."""
        self.inputs.setdefault(
            name,
            {
                "name": name,
                "type": kind,
                "description": description,
                "required": True,
                "default": None,
                "example": example,
            },
        )
        return ref(name)

    def id_input(self, resource: str) -> str:
        return self.input(
            f"{resource}_id",
            "string",
            EXAMPLES.get(resource, f"sample-{resource}"),
            f"the {resource}'s id",
        )

    def match(self, verb: str, nouns: list[str]) -> Operation | None:
        """The catalog operation that fits best (granted ones win ties); notes misses."""
        best, best_score = None, 0
        for prof in self.profiles:
            points = score(prof, verb, nouns, self.allowed)
            if points > best_score:
                best, best_score = prof.op, points
        if best is None:
            said = " ".join(dict.fromkeys(n for n in nouns if n))
            self.notes.append(f"no operation fits '{verb} {said}'; that part was skipped")
        elif best.id not in self.allowed:
            need = " or ".join(best.scopes) or "a scope no API product offers"
            self.notes.append(f"{best.id} needs {need}, which was not granted")
        return best

    def _param(self, op: Operation, param: str) -> str:
        parts = segments(op.path_template)
        index = parts.index("{" + param + "}")
        before = [p for p in parts[:index] if not p.startswith("{")]
        if param != "id":
            return self.input(
                param.lower(), "string", EXAMPLES.get(noun(param), "sample"), f"the {param}"
            )
        resource = singular(before[-1]) if before else noun(op.proxy)
        return self.id_input(resource)

    def call(self, action: Action, op: Operation, kind: str = "call") -> dict[str, Any]:
        """A call (or notify) step for ``op``."""
        name = op.id.split(".", 1)[-1]
        base = name if "_" in name else f"{name}_{noun(op.proxy)}"
        step: dict[str, Any] = {
            "id": self.step_id(base),
            "kind": kind,
            "operation": op.id,
            "params": [{"name": p, "value": self._param(op, p)} for p in op.params],
            "body": self._body(action, op),
            "timeout_s": CALL_TIMEOUT_S,
            "retry": {**RETRY, "max_attempts": action.attempts or RETRY["max_attempts"]},
        }
        if kind == "call":
            step["query"] = self._query(op)
        return step

    def _query(self, op: Operation) -> list[dict[str, Any]]:
        if profile(op).verb != "search":
            return []
        return [
            {
                "name": "q",
                "value": self.input("query", "string", "running shoes", "what to search for"),
            }
        ]

    def _body(self, action: Action, op: Operation) -> list[dict[str, Any]]:
        prof = profile(op)
        if op.method in ("GET", "DELETE", "HEAD"):
            return []
        if prof.target == "shipment" and (self.subject == "order" or "order_id" in self.inputs):
            return [{"name": "order_id", "value": self.id_input("order")}]
        if prof.verb == "update":
            extra = [n for n in action.nouns if n not in prof.nouns and n in self.vocabulary]
            field = extra[0] if extra else "status"
            value = self.input(f"new_{field}", "string", f"new {field}", f"the new {field}")
            return [{"name": field, "value": value}]
        if prof.verb == "refund":
            return [{"name": "reason", "value": "refund approved in a workflow"}]
        return []

    def notify(self, action: Action) -> dict[str, Any] | None:
        """A notify step on the channel asked for (email unless SMS/text was said)."""
        ops = [p for p in self.profiles if p.verb == "notify"]
        fits = [p for p in ops if action.channel in p.nouns] or ops
        chosen = next((p for p in fits if p.op.id in self.allowed), fits[0] if fits else None)
        if chosen is None:
            self.notes.append("the catalog has no notification operation; notification skipped")
            return None
        if chosen.op.id not in self.allowed:
            need = " or ".join(chosen.op.scopes) or "a scope no API product offers"
            self.notes.append(f"{chosen.op.id} needs {need}, which was not granted")
        known = action.recipient in PEOPLE or APPROVERS.fullmatch(action.recipient)
        who = action.recipient if known and action.recipient.isalpha() else "customer"
        sms = action.channel == "sms" or "sms" in chosen.nouns
        field, example = ("phone", "+15555550100") if sms else ("email", f"{who}@example.com")
        step = self.call(action, chosen.op, "notify")
        self.ids.discard(step["id"])
        step["id"] = self.step_id(f"{'sms' if sms else 'email'}_{who}")
        about = (
            f"{self.subject} " + ref(f"{self.subject}_id")
            if f"{self.subject}_id" in self.inputs
            else self.subject
        )
        step["body"] = [
            {
                "name": "to",
                "value": self.input(f"{who}_{field}", "string", example, f"how to reach the {who}"),
            },
            {"name": "message" if sms else "subject", "value": f"Update on {about}"},
        ]
        return step
