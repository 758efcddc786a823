"""Reading a request in words into actions (the offline planner's first half).

Deterministic keyword and verb matching: the request is split into clauses;
each clause yields actions in the order they are written (calls, notify,
sleep, poll, approval), with a few patterns on top: a trigger ("when an
order over 10,000 is created") sets the subject and a threshold, "after X
approves" puts the approval first, "on rejection ..." starts the reject
path, "if nobody answers ..." says what silence does (stop, escalate to a
notification, or an explicit reject/approve/fail), "in parallel" groups
calls, "until it is delivered" makes a poll.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from copilot.drafting.offline_lexicon import (
    APPROVERS,
    ESCALATE,
    NOTIFY,
    PEOPLE,
    PRONOUNS,
    SILENCE,
    SILENT_OUTCOMES,
    SMS,
    VERBS,
    noun,
    words_of,
)

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "week": 604800,
}
DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|[smhd])\b"
)
CLAUSES = re.compile(r"[.;]|,?\s+then\s+|,\s*and then\s+|\band afterwards\b")
REJECT = re.compile(
    r"\b(on rejection|if rejected|if (?:it is|it's) rejected|when rejected|if denied|if declined|"
    r"otherwise|if not approved|on denial|if (?:they|the \w+) rejects?)\b"
)
APPROVAL = re.compile(r"\b(approv\w*|sign[- ]?off|manual review|human review|review by)\b")
APPROVAL_FIRST = re.compile(r"\b(after|once|when|as soon as)\b[^,]*?\b(approv\w*|sign[- ]?off)")
TRIGGER = re.compile(
    r"\b(?:when|whenever|once|if)\s+(?:a|an|the|new)?\s*(?:new\s+)?([a-z]+)\b([^,;]*?)\b"
    r"(?:is|are|gets|has been|was)\s+(created|placed|submitted|opened|received|paid|made)\b"
)
THRESHOLD = re.compile(
    r"\b(over|above|more than|greater than|exceeding|at least|under|below|less than)\s+"
    r"\$?(\d[\d,]*(?:\.\d+)?)\s*(k\b)?"
)
STILL = re.compile(r"\bif\s+(?:it is|it's|its status is|the \w+ is|they are)?\s*still\s+([a-z]+)")
UNTIL = re.compile(
    r"\buntil\s+(?:it is|it's|its status is|the status is|the \w+ is|it has been|it gets)?\s*([a-z]+)"
)
# "every 20 seconds", and "every hour" (no number: one unit).
EVERY = re.compile(
    r"\bevery\s+(\d+(?:\.\d+)?)?\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|[smhd])\b"
)
SLEEP = re.compile(r"\b(?:wait|sleep|pause|delay)(?:\s+for)?\s+" + DURATION.pattern)
AFTER = re.compile(r"^\s*after\s+" + DURATION.pattern)
PARALLEL = re.compile(r"\b(in parallel|at the same time|simultaneously|concurrently)\b")
ATTEMPTS = re.compile(r"\bup to (\d+) (?:attempts|tries|retries|times)\b")
_OP_WORDS = {"<": "lt", ">": "gt"}


def seconds(amount: str | None, unit: str) -> int:
    """'48', 'hours' -> 172800; no amount ('every hour') is one unit."""
    amount = amount or "1"
    key = unit.rstrip("s") if len(unit) > 1 else unit
    return int(float(amount) * _UNITS.get(key, _UNITS.get(unit, 1)))


@dataclass
class Action:
    """One thing the workflow should do, as read from the request."""

    kind: str  # call | notify | approval | sleep | poll | guard
    verb: str = ""
    nouns: list[str] = field(default_factory=list)
    seconds: int = 0
    approver: str = ""
    channel: str = "email"
    recipient: str = "customer"
    status: str = ""
    interval: int = 0
    group: int = 0  # parallel group (0: none)
    text: str = ""
    attempts: int | None = None


@dataclass
class Reading:
    """What the request says: subject, threshold, and actions on each path."""

    subject: str = ""
    threshold: tuple[str, float] | None = None
    main: list[Action] = field(default_factory=list)
    reject: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    silence: str = ""  # what an unanswered approval does, when the request says
    escalation: list[Action] = field(default_factory=list)


def _verbs_in(text: str) -> list[tuple[int, str, int]]:
    found: list[tuple[int, str, int]] = []
    for verb, phrases in VERBS.items():
        for phrase in phrases:
            for m in re.finditer(rf"\b{re.escape(phrase)}\b", text):
                if not any(s <= m.start() < e for s, _, e in found):
                    found.append((m.start(), verb, m.end()))
    for m in re.finditer(r"\bsend\b", text):
        tail = text[m.end() : m.end() + 40]
        if re.search(r"\bfulfil", tail):
            found.append((m.start(), "ship", m.end()))
    return sorted(found)


def _nouns(text: str, subject: str) -> list[str]:
    out = []
    for word in words_of(text):
        if word in PRONOUNS:
            out.append(subject)
        elif (n := noun(word)) and len(n) > 2:
            out.append(n)
    return [n for n in out if n] or ([subject] if subject else [])


def _parts(clause: str, start: int, stop: int) -> list[tuple[int, str]]:
    """Coordinated objects of one verb: 'the order and its items' -> two parts."""
    out, pos = [], start
    for piece in re.split(r"(\band\b|,)", clause[start:stop]):
        if piece not in ("and", ","):
            out.append((pos, piece))
        pos += len(piece)
    return out


def _blank(text: str, *patterns: re.Pattern[str]) -> str:
    for pattern in patterns:
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text


def _calls(
    clause: str, reading: Reading, vocabulary: set[str], group: int
) -> list[tuple[int, Action]]:
    found = []
    verbs = _verbs_in(clause)
    cut = NOTIFY.search(clause)
    for i, (start, verb, end) in enumerate(verbs):
        stop = verbs[i + 1][0] if i + 1 < len(verbs) else len(clause)
        if cut and end <= cut.start() < stop:
            stop = cut.start()
        if verb == "ship":
            found.append((start, Action("call", "create", ["shipment", "fulfilment"], group=group)))
            continue
        for j, (pos, part) in enumerate(_parts(clause, end, stop)):
            own = {noun(w) for w in words_of(part) if w not in PRONOUNS} & vocabulary
            if j and not own:
                continue  # "... and send them" names nothing new
            found.append(
                (
                    pos if j else start,
                    Action("call", verb, _nouns(part, reading.subject), group=group),
                )
            )
    return found


def _clause_actions(
    clause: str, reading: Reading, vocabulary: set[str], group: int
) -> list[Action]:
    actions: list[tuple[int, Action]] = []
    clause = _blank(clause, TRIGGER, THRESHOLD)
    if APPROVAL.search(clause):
        who = APPROVERS.search(clause)
        wait = DURATION.search(clause)
        first = APPROVAL_FIRST.search(clause)
        pos = -1 if first else APPROVAL.search(clause).start()
        approver = who.group(1) if who else "reviewer"
        timeout = seconds(*wait.groups()) if wait else 0
        actions.append((pos, Action("approval", approver=approver, seconds=timeout)))
        clause = _blank(clause, APPROVAL_FIRST, APPROVAL, DURATION)
    if m := SLEEP.search(clause) or AFTER.search(clause):
        actions.append((m.start(), Action("sleep", seconds=seconds(m.group(1), m.group(2)))))
        clause = _blank(clause, SLEEP, AFTER)
    if m := STILL.search(clause):
        actions.append((m.start(), Action("guard", status=m.group(1), nouns=[reading.subject])))
    until, every = UNTIL.search(clause), EVERY.search(clause)
    attempts = ATTEMPTS.search(clause)
    clause = _blank(clause, STILL, UNTIL, EVERY, ATTEMPTS, PARALLEL)
    calls = _calls(clause, reading, vocabulary, group)
    for _, action in calls:
        action.text = clause.strip()
        action.attempts = int(attempts.group(1)) if attempts else None
    actions += calls
    if m := NOTIFY.search(clause):
        tail = words_of(clause[m.start() :])
        person = next((noun(w) for w in tail if noun(w) in PEOPLE), "customer")
        channel = "sms" if SMS.search(clause) else "email"
        actions.append((m.start(), Action("notify", channel=channel, recipient=person)))
    if until and every:
        polls = [a for _, a in calls if a.verb in ("get", "list", "search")]
        poll = polls[0] if polls else Action("call", "get", [reading.subject])
        poll.kind, poll.status = "poll", until.group(1)
        poll.interval = seconds(every.group(1), every.group(2))
        if not polls:
            actions.append((until.start(), poll))
    return [a for _, a in sorted(actions, key=lambda p: p[0])]


def read_request(request: str, vocabulary: set[str], subjects: set[str]) -> Reading:
    """Parse a request into a :class:`Reading` (never raises; unknown words are ignored).

    ``vocabulary`` holds the nouns the catalog's operations are about;
    ``subjects`` the resources that have ids (what "it" can stand for).
    """
    text = " ".join(request.lower().replace("’", "'").split())
    reading = Reading()
    if m := TRIGGER.search(text):
        reading.subject = noun(m.group(1))
    if m := THRESHOLD.search(text):
        value = float(m.group(2).replace(",", "")) * (1000 if m.group(3) else 1)
        op = (
            "lt"
            if m.group(1) in ("under", "below", "less than")
            else ("ge" if m.group(1) == "at least" else "gt")
        )
        reading.threshold = (op, value)
    if not reading.subject:
        for word in words_of(text):
            if (n := noun(word)) in subjects:
                reading.subject = n
                break
    parts = _sections(text)
    group = 0
    for target, part in ((reading.main, parts["main"]), (reading.reject, parts["reject"])):
        for clause in CLAUSES.split(part):
            if clause.strip():
                group += 1
                parallel = bool(PARALLEL.search(clause))
                target += _clause_actions(clause, reading, vocabulary, group if parallel else 0)
    _read_silence(parts["silence"], reading, vocabulary)
    return reading


def _sections(text: str) -> dict[str, str]:
    """The request cut at "on rejection ..." and "if nobody answers ..." (either order)."""
    marks: list[tuple[int, int, str]] = []
    if m := SILENCE.search(text):
        marks.append((m.start(), m.end(), "silence"))
    for m in REJECT.finditer(text):
        if not any(s < m.end() and m.start() < e for s, e, _ in marks):
            marks.append((m.start(), m.end(), "reject"))
            break
    marks.sort()
    out = {"main": text[: marks[0][0]] if marks else text, "reject": "", "silence": ""}
    for i, (_, end, name) in enumerate(marks):
        out[name] = text[end : marks[i + 1][0] if i + 1 < len(marks) else len(text)]
    return out


def _read_silence(text: str, reading: Reading, vocabulary: set[str]) -> None:
    """An explicit outcome word, or else the actions to escalate to (a notification)."""
    wait = DURATION.search(text)
    approval = next((a for a in reading.main if a.kind == "approval"), None)
    if wait and approval is not None and not approval.seconds:
        approval.seconds = seconds(*wait.groups())  # "if nobody answers within 2 days"
    text = _blank(text, DURATION)
    if not text.strip():
        return
    for outcome, pattern in SILENT_OUTCOMES:
        if pattern.search(text):
            reading.silence = outcome
            return
    words = set(words_of(text))
    who = APPROVERS.search(text)
    fallback = who.group(1) if who and who.group(1).isalpha() else "manager"
    for clause in CLAUSES.split(ESCALATE.sub("notify", text)):
        if clause.strip():
            reading.escalation += _clause_actions(clause, reading, vocabulary, 0)
    for action in reading.escalation:
        if action.kind == "notify" and action.recipient not in words:
            action.recipient = fallback  # "escalate" alone means to someone above, not the customer
    reading.silence = "escalate" if reading.escalation else "stop"
