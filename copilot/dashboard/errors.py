"""Errors as people read them: one sentence, what is wrong and what to do.

No exception class names, no internal paths (a file is named as the person
gave it), no command-line flags (the dashboard has a control for each).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from copilot.errors import (
    AtcError,
    BundleError,
    ConfigError,
    LogFormatError,
    ProductsError,
    TemporalError,
)

# A flag named in a CLI message, and the control that does its job on the dashboard.
CONTROLS = {
    "--format": "the Format list in the sidebar",
    "--bundle": "the bundle field in the sidebar",
    "--headroom": "the headroom slider in the sidebar",
    "--logs": "the logs field",
    "--input": "the input form",
    "--cron": "the schedule field",
    "--every": "the schedule field",
}
_FORCE_FORMAT = re.compile(r"[Uu]se --format to force (one|it)( of: [^.;]*)?")
_FLAG = re.compile(r"--[a-z][a-z-]*")
_PATH = re.compile(r"(?<![\w.:/])(?:\.{0,2}/)?(?:[\w.@+-]+/)+[\w.@+-]+")
ADVICE: list[tuple[type[AtcError], str]] = [
    (LogFormatError, "choose a log file atc can read, or pick its format in the sidebar"),
    (BundleError, "check the proxy bundle field in the sidebar (a folder or a .zip)"),
    (ProductsError, "check the API product file"),
    (TemporalError, "start Temporal and the workers with `make run`, then reload this page"),
    (ConfigError, "check the atc settings (atc.toml or the ATC_ variables)"),
]
UNEXPECTED = (
    "Something went wrong on the dashboard's side; reload the page, "
    "and if it happens again see the server log."
)


def _name(path: str, names: Mapping[str, str]) -> str:
    return names.get(path, path.rstrip("/").rsplit("/", 1)[-1])


def _one_sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(". ")
    # Later sentences become clauses of the first.
    text = re.sub(r"\.\s+([A-Z])", lambda m: "; " + m.group(1).lower(), text)
    first = text.split(" ", 1)[0]
    if first.isalpha():  # a word, not a file name: start the sentence with a capital
        text = text[:1].upper() + text[1:]
    return text + "."


def say(exc: BaseException, names: Mapping[str, str] | None = None) -> str:
    """``exc`` as one sentence for a person; ``names`` maps internal paths to the names people gave.

    An error atc did not raise on purpose gets a generic sentence: its text
    may carry internals, and the server log has the details.
    """
    if not isinstance(exc, AtcError):
        return UNEXPECTED
    names = dict(names or {})
    text = _one_sentence(exc.message)
    for path in sorted(names, key=len, reverse=True):
        text = text.replace(path, names[path])
    text = _PATH.sub(lambda m: _name(m.group(0), names), text)
    text = _FORCE_FORMAT.sub("pick the format from the Format list in the sidebar", text)
    text = _FLAG.sub(lambda m: CONTROLS.get(m.group(0), "the matching setting"), text)
    advice = next((a for kind, a in ADVICE if isinstance(exc, kind)), None)
    sentence = text
    if advice and "sidebar" not in sentence and "make run" not in sentence:
        sentence = f"{sentence[:-1]}; {advice}."
    return sentence
