"""Words the offline planner understands, and how catalog operations are profiled.

The planner maps what a request says (verbs, nouns) onto operations by
their ids, path segments and summaries, so it works for any catalog, not
only the shipped one. Everything here is plain data and pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.scopes.operations import Operation, segments

# canonical action -> phrases (longest first when matched)
VERBS: dict[str, tuple[str, ...]] = {
    "get": ("look up", "lookup", "fetch", "get", "read", "load", "retrieve", "check", "inspect"),
    "list": ("list", "enumerate"),
    "create": ("create", "place", "open", "submit", "add", "register"),
    "update": ("update", "change", "modify", "edit", "correct", "amend"),
    "cancel": ("cancel", "void", "abort", "annul"),
    "refund": ("refund", "reimburse"),
    "ship": ("ship", "fulfil", "fulfill", "dispatch"),
    "search": ("search", "look for", "query"),
    "delete": ("delete", "remove"),
}
COMPATIBLE = {
    "get": {"get", "list", "search"},
    "list": {"list", "get"},
    "search": {"search", "list"},
}
NOTIFY = re.compile(r"\b(notify|e-?mail|tell|alert|inform|text|sms|message|confirmation)\b")
SMS = re.compile(r"\b(sms|text message|text the|text them|text him|text her|by text)\b")
SYNONYMS = {
    "fulfillment": "fulfilment",
    "delivery": "shipment",
    "parcel": "shipment",
    "package": "shipment",
    "sku": "product",
    "client": "customer",
    "buyer": "customer",
    "purchase": "order",
    "addresse": "address",
    "addresses": "address",
    "detail": "",
    "details": "",
}
PEOPLE = ("customer", "manager", "finance", "team", "ops", "caller", "owner", "user", "admin")
APPROVERS = re.compile(
    r"\b(manager|finance|supervisor|operations|ops|security|compliance|admin|team lead|owner|"
    r"legal|support)\b"
)
PRONOUNS = {"it", "them", "its", "their", "this", "that"}
# What the request says happens when nobody answers an approval.
SILENCE = re.compile(
    r"\b(if (?:no one|nobody) (?:answers|responds|replies|decides|approves)|"
    r"if (?:there is )?no (?:answer|response|reply|decision)(?: comes| arrives| is given)?|"
    r"if (?:it|the approval|the request) times? out|on timeout|if unanswered|"
    r"if (?:the \w+ |they |he |she )?(?:does not|doesn't|do not|don't|never) "
    r"(?:answers?|responds?|reply|replies|decides?)|"
    r"if not (?:answered|decided|approved) (?:in time|within|by|before))"
)
SILENT_OUTCOMES = (
    ("reject", re.compile(r"\b(reject\w*|den(?:y|ied)|decline\w*)\b")),
    ("approve", re.compile(r"\b(approve\w*|go ahead|proceed)\b")),
    ("fail", re.compile(r"\b(fail)\b")),
    ("stop", re.compile(r"\b(stop|end the workflow|give up|do nothing|drop it|abandon)\b")),
)
ESCALATE = re.compile(r"\bescalate\b")
EXAMPLES = {
    "order": "ORD-1001",
    "payment": "pay_3fa9b2c4d5e6f7a8b9c0d1e2",
    "customer": "6f1c2a9e-8d3b-4c7a-9e21-5b0d4f3a7c11",
    "shipment": "0b7e4d2c-1a9f-4e3b-8c6d-2f5a9b1e7d40",
    "product": "4006381333931",
}
_WORD = re.compile(r"[a-z][a-z0-9]*")
_OP_VERBS = {
    "get": "get",
    "list": "list",
    "create": "create",
    "replace": "update",
    "update": "update",
    "delete": "delete",
    "cancel": "cancel",
    "refund": "refund",
    "search": "search",
    "send": "notify",
}
_METHOD_VERBS = {
    "GET": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}


def singular(word: str) -> str:
    """A rough English singular (orders -> order, addresses -> address)."""
    if word.endswith("sses") or word.endswith("shes") or word.endswith("ches"):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def noun(word: str) -> str:
    """A word's canonical noun form ('' for filler words)."""
    word = SYNONYMS.get(word, word)
    base = singular(word)
    return SYNONYMS.get(base, base)


@dataclass(frozen=True)
class OpProfile:
    """What an operation does (``verb``) and to what (``nouns``; ``target`` most of all)."""

    op: Operation
    verb: str
    nouns: frozenset[str]
    target: str


def profile(op: Operation) -> OpProfile:
    """Profile an operation from its id, path and method."""
    name = op.id.split(".", 1)[-1]
    tokens = [t for t in name.split("_") if t]
    verb = _OP_VERBS.get(tokens[0]) if tokens else None
    verb = verb or _METHOD_VERBS.get(op.method, op.method.lower())
    literals = [noun(s) for s in segments(op.path_template) if not s.startswith("{")]
    words = {noun(op.proxy), *literals, *(noun(t) for t in tokens[1:])}
    if verb == "notify":
        words |= {noun(t) for t in tokens[1:]}
    words.discard("")
    target = literals[-1] if literals else noun(op.proxy)
    if tokens[1:] and verb != "notify":
        target = noun(tokens[-1])
    return OpProfile(op, verb, frozenset(words), target)


def resource_of(op: Operation) -> str:
    """What an operation's first path parameter identifies (``/shipments/{id}`` -> shipment)."""
    parts = segments(op.path_template)
    for i, part in enumerate(parts):
        if part.startswith("{"):
            before = [p for p in parts[:i] if not p.startswith("{")]
            return noun(before[-1]) if before else noun(op.proxy)
    return noun(op.proxy)


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def score(prof: OpProfile, verb: str, nouns: list[str], allowed: set[str]) -> int:
    """How well ``verb`` + ``nouns`` describe the operation (0: not at all)."""
    if prof.verb == verb:
        points = 4
    elif prof.verb in COMPATIBLE.get(verb, set()):
        points = 2
    else:
        return 0
    hits = [n for n in nouns if n in prof.nouns]
    if not hits:
        return 0
    # The head noun comes last ("its items"): naming an operation's target there counts most.
    points += 2 * len(set(hits)) + (
        3 if nouns[-1] == prof.target else 1 if prof.target in nouns else 0
    )
    return points + (1 if prof.op.id in allowed else 0)
