"""Syslog lines from a MessageLogging policy, parsed with the team's template.

A ``<Syslog><Message>`` template holds literal text and ``{flow.variable}``
placeholders; ``copilot.logs.templates`` turns it into a parser (templates over
several lines, unquoted JSON values, JSON messages with the team's key names).
rsyslog's ``#ooo`` escapes of control characters (``#012``) are undone first.
With ``<FormatMessage>true</FormatMessage>`` Apigee adds an RFC 5424 header
(priority, version, timestamp, host, app, procid, msgid, structured data);
RFC 3164 headers and bare messages are accepted too. See docs/apigee.md,
'MessageLogging shapes', and
cloud.google.com/apigee/docs/api-platform/reference/policies/message-logging-policy.
"""

from __future__ import annotations

import re
from typing import Any

from copilot.logs.fields import DEFAULT_SYSLOG_TEMPLATE
from copilot.logs.flowvars import flow_to_raw
from copilot.logs.lines import LineParser
from copilot.logs.templates import Template, unescape_rsyslog

__all__ = ["Template", "split_header", "syslog_parser"]

_RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<ver>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) "
    r"(?P<procid>\S+) (?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(?P<msg>.*)$",
    re.DOTALL,
)
# RFC 3164, also as rsyslog's traditional file format (no priority).
_RFC3164 = re.compile(
    r"^(?:<(?P<pri>\d{1,3})>)?(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) (?P<tag>[^:\s]+): ?(?P<msg>.*)$",
    re.DOTALL,
)

# rsyslog's RSYSLOG_FileFormat: an RFC 3339 time, host, tag.
_RSYSLOG_FILE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*) (?P<host>\S+) (?P<tag>[^:\s]+): ?(?P<msg>.*)$",
    re.DOTALL,
)
# Where a header says the time, the message may carry none of its own.
_DATED = (_RFC5424, _RSYSLOG_FILE)


def split_header(line: str) -> tuple[str | None, str]:
    """Return ``(header timestamp or None, message)`` for a syslog line."""
    for pattern in (_RFC5424, _RSYSLOG_FILE, _RFC3164):
        match = pattern.match(line)
        if match:
            ts = match.group("ts")
            return (ts if pattern in _DATED and ts != "-" else None), match.group("msg")
    return None, line


def syslog_parser(template: str | None = None) -> LineParser:
    """The parser of one syslog line for the team's template (atc's default if none)."""
    compiled = Template(template or DEFAULT_SYSLOG_TEMPLATE)

    def parse(text: str) -> dict[str, Any]:
        header_ts, message = split_header(text.rstrip("\r\n"))
        return flow_to_raw(compiled.parse(unescape_rsyslog(message)), header_ts)

    return parse
