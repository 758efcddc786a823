"""Syslog lines from a MessageLogging policy, parsed with the team's template.

A ``<Syslog><Message>`` template holds literal text and ``{flow.variable}``
placeholders; atc turns it into a regular expression (a placeholder between
double quotes takes anything but a quote, elsewhere anything but whitespace).
With ``<FormatMessage>true</FormatMessage>`` Apigee adds an RFC 5424 header
(priority, version, timestamp, host, app, procid, msgid, structured data);
RFC 3164 headers and bare messages are accepted too. See docs/apigee.md,
'MessageLogging shapes', and
cloud.google.com/apigee/docs/api-platform/reference/policies/message-logging-policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from copilot.errors import UsageError
from copilot.logs.fields import DEFAULT_SYSLOG_TEMPLATE
from copilot.logs.flowvars import flow_to_raw
from copilot.logs.lines import read_line_records
from copilot.logs.quarantine import Quarantine

_QUOTED_VALUE = r'[^"]*'
_BARE_VALUE = r"\S*"
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")
_RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<ver>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) "
    r"(?P<procid>\S+) (?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(?P<msg>.*)$"
)
_RFC3164 = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) (?P<tag>[^:\s]+): ?(?P<msg>.*)$"
)


class Template:
    """A compiled MessageLogging template."""

    def __init__(self, text: str = DEFAULT_SYSLOG_TEMPLATE) -> None:
        names = _PLACEHOLDER.findall(text)
        if not names:
            raise UsageError("the syslog template has no {flow.variable} placeholder")
        self.text = text
        self.variables = names
        self.regex = re.compile("^" + self._pattern(text) + r"\s*$")

    @staticmethod
    def _pattern(text: str) -> str:
        parts: list[str] = []
        pos = 0
        for index, match in enumerate(_PLACEHOLDER.finditer(text)):
            literal = text[pos : match.start()]
            parts.append(r"\s+".join(re.escape(p) for p in literal.split(" ")))
            quoted = literal.endswith('"') and text[match.end() : match.end() + 1] == '"'
            value = _QUOTED_VALUE if quoted else _BARE_VALUE
            parts.append(f"(?P<v{index}>{value})")
            pos = match.end()
        parts.append(r"\s+".join(re.escape(p) for p in text[pos:].split(" ")))
        return "".join(parts)

    def parse(self, message: str) -> dict[str, str]:
        """Flow variables of one message; ValueError when it does not fit the template."""
        match = self.regex.match(message)
        if not match:
            raise ValueError("does not match the syslog template")
        return {name: match.group(f"v{i}") for i, name in enumerate(self.variables)}


def split_header(line: str) -> tuple[str | None, str]:
    """Return ``(header timestamp or None, message)`` for a syslog line."""
    for pattern in (_RFC5424, _RFC3164):
        match = pattern.match(line)
        if match:
            ts = match.group("ts")
            return (ts if pattern is _RFC5424 and ts != "-" else None), match.group("msg")
    return None, line


def read_syslog(
    path: Path,
    quarantine: Quarantine,
    *,
    columns: tuple[str, ...] | None = None,
    template: str | None = None,
    block_lines: int = 200_000,
) -> Iterator[pd.DataFrame]:
    """Yield canonical chunks from syslog lines."""
    compiled = Template(template or DEFAULT_SYSLOG_TEMPLATE)

    def parse(text: str) -> dict[str, object]:
        header_ts, message = split_header(text.rstrip("\r\n"))
        return flow_to_raw(compiled.parse(message), header_ts)

    yield from read_line_records(path, quarantine, parse, columns=columns, block_lines=block_lines)
