"""What a request asks for, clause by clause (offline, deterministic).

A request in words is cut into clauses at the words that start a new
thing to do: ``then``, ``and then``, commas and semicolons, and before
``every``, ``until``, ``if``, ``unless``, ``wait``, ``after``, ``once``
and the approval and notification phrases. Each clause gets one kind:

- ``call``: an action on a resource ("search the catalog");
- ``repeat``: "every 20 seconds" (a bounded loop with that interval);
- ``wait``: "wait 2 hours", "after 30 minutes" (a sleep);
- ``condition``: "until it is completed", "if it is still pending",
  "over 10,000", "on rejection", "if nobody answers" (an exit condition,
  a branch, an approval's reject or timeout path);
- ``approval``: "a manager's approval", "after finance approves it";
- ``notify``: "email the customer", "text them";
- ``retry``: "with up to 5 attempts" (a bounded retry with backoff).

Clauses with none of these (filler, a trigger such as "when an order is
created") are left out. :mod:`copilot.drafting.trace` maps each clause to
the spec step(s) that implement it; rule WF011 reports the ones with none.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from copilot.drafting.offline_lexicon import NOTIFY, SILENCE, VERBS
from copilot.drafting.offline_parse import (
    APPROVAL,
    ATTEMPTS,
    DURATION,
    EVERY,
    REJECT,
    STILL,
    THRESHOLD,
    UNTIL,
    seconds,
)

KINDS = ("call", "repeat", "wait", "condition", "approval", "notify", "retry")
# Kinds whose absence changes what the workflow does over time: a missing one is an error.
BEHAVIOUR_KINDS = ("repeat", "wait", "condition", "approval", "retry")

# A comma inside a number ("10,000") or a decimal point does not end a clause.
_SEPARATORS = re.compile(r"\s*(?:[;:]|\.(?!\d)|,\s*and then\b|,?\s*\bthen\b|,(?!\d))\s*")
# Words that start a clause of their own even without a comma before them.
_STARTS = re.compile(
    r"\s+(?=(?:every|until|unless|if|wait|sleep|pause|after|once|on rejection|otherwise|"
    r"with up to|up to \d+ (?:attempts|tries|retries|times))\b)"
)
_WAIT = re.compile(r"\b(?:wait|sleep|pause|delay|after|hold)\b(?:\s+(?:it|them))?(?:\s+for)?\s+")
_CONDITION = re.compile(r"^\s*(?:if|unless|only if|when|once|in case)\b")
_PHRASES = "|".join(sorted({re.escape(p) for ps in VERBS.values() for p in ps}, key=len)[::-1])
_VERB_WORDS = re.compile(r"\b(" + _PHRASES + r"|send|poll)\b")

# "search the catalog and fetch the product": two actions (not "the order and its items").
_AND_VERB = re.compile(r"\s+and\s+(?=(?:" + _PHRASES + r")\b)")


@dataclass(frozen=True)
class Clause:
    """One clause of a request: its text, its kind and what it says in numbers or words.

    ``seconds``: the interval (repeat), the duration (wait) or the approval's
    deadline; ``value``: a condition's status word or threshold; ``role`` a
    condition's part (``until``, ``threshold``, ``status``, ``rejected``,
    ``silence``, ``if``); ``attempts``: a retry's bound.
    """

    index: int
    text: str
    kind: str
    seconds: int | None = None
    value: str | float | None = None
    role: str = ""
    attempts: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pieces(text: str) -> list[str]:
    out: list[str] = []
    for part in _SEPARATORS.split(text):
        for piece in _STARTS.split(part):
            for action in _AND_VERB.split(piece):
                for part in _split_interval(action.strip()):
                    out += _split_consequence(part)
    return [p for p in out if p]


def _split_interval(piece: str) -> list[str]:
    """'every hour list the orders' -> the interval, then what is repeated."""
    m = EVERY.match(piece)
    if m and piece[m.end() :].strip():
        return [m.group(0), piece[m.end() :].strip()]
    return [piece]


def _split_consequence(piece: str) -> list[str]:
    """'if it is still pending cancel it' -> the condition, then what it leads to."""
    for pattern in (SILENCE, REJECT, STILL, UNTIL):
        m = pattern.search(piece)
        if m and m.start() == piece.find(m.group(0)) and _VERB_WORDS.search(piece[m.end() :]):
            rest = piece[m.end() :].strip()
            if _VERB_WORDS.match(rest) or NOTIFY.match(rest):
                return [piece[: m.end()].strip(), *_split_consequence(rest)]
    return [piece]


def _threshold(piece: str) -> float | None:
    m = THRESHOLD.search(piece)
    if not m:
        return None
    return float(m.group(2).replace(",", "")) * (1000 if m.group(3) else 1)


def _condition(piece: str) -> tuple[str, str | float | None] | None:
    """(role, value) when the piece is a condition, else None."""
    if SILENCE.search(piece):
        return "silence", None
    if REJECT.search(piece) and not APPROVAL.search(piece.replace("not approved", "")):
        return "rejected", None
    if m := UNTIL.search(piece):
        return "until", m.group(1)
    if m := STILL.search(piece):
        return "status", m.group(1)
    if (value := _threshold(piece)) is not None:
        return "threshold", value
    if _CONDITION.search(piece) and not _WAIT.search(piece):
        trigger = re.search(
            r"\b(?:is|are|gets|has been|was)\s+(created|placed|submitted|opened|received)\b", piece
        )
        return None if trigger else ("if", None)
    return None


def _kind_of(piece: str) -> dict[str, Any] | None:
    """The clause fields of one piece of text, or None when it asks for nothing."""
    if m := EVERY.search(piece):
        return {"kind": "repeat", "seconds": seconds(m.group(1), m.group(2))}
    if m := ATTEMPTS.search(piece):
        return {"kind": "retry", "attempts": int(m.group(1))}
    found = _condition(piece)
    if found and found[0] in ("silence", "rejected", "until", "status", "threshold"):
        role, value = found
        return {"kind": "condition", "role": role, "value": value}
    if APPROVAL.search(piece):
        wait = DURATION.search(piece)
        return {"kind": "approval", "seconds": seconds(*wait.groups()) if wait else None}
    if _WAIT.search(piece) and (wait := DURATION.search(piece)):
        return {"kind": "wait", "seconds": seconds(*wait.groups())}
    if found:
        return {"kind": "condition", "role": found[0], "value": found[1]}
    if NOTIFY.search(piece) and not _VERB_WORDS.search(
        piece.split(NOTIFY.search(piece).group(0))[0]
    ):
        return {"kind": "notify"}
    if _VERB_WORDS.search(piece):
        return {"kind": "call"}
    return None


def extract_clauses(request: str) -> list[Clause]:
    """The request's clauses in the order written (never raises; unknown words are skipped)."""
    text = " ".join(request.lower().replace("’", "'").split())
    out: list[Clause] = []
    for piece in _pieces(text):
        fields = _kind_of(piece)
        if fields is None:
            continue
        # "cancel it and notify the customer": a call and a notification in one piece
        m = NOTIFY.search(piece) if fields["kind"] == "call" else None
        if m and _VERB_WORDS.search(piece[: m.start()]):
            call = re.sub(
                r"\s+(?:and|to)?\s*(?:send\s+\w+\s*)?(?:an?\s+)?$", "", piece[: m.start()]
            )
            out.append(Clause(index=len(out), text=call.strip() or piece, **fields))
            out.append(Clause(index=len(out), text=piece[m.start() :], kind="notify"))
        else:
            out.append(Clause(index=len(out), text=piece, **fields))
    return out
