"""MessageLogging templates: from the policy XML to a parser of what Apigee wrote.

A ``<MessageLogging>`` policy's ``<Message>`` (under ``<Syslog>`` or
``<CloudLogging>``) is a message template: literal text with ``{flow.variable}``
placeholders, optionally wrapped in a function such as
``{escapeJSON(message.content)}`` (cloud.google.com/apigee/docs/api-platform/
reference/policies/message-logging-policy; .../reference/message-template-intro).
Real policies write it over several lines, so atc compares it with what was
logged whitespace-insensitively:

- a run of whitespace in the template matches any run of whitespace, or none;
- a placeholder between double quotes takes anything but a quote;
- any other placeholder takes an unquoted JSON object or array (``{"a": 1}``,
  with spaces), or else the shortest text, spaces included, up to the literal
  that follows it (``ua={request.header.user-agent} status=...``), or a run of
  non-space characters when another placeholder follows directly.

A template that is a JSON object (``{"proxy": "{apiproxy.name}", ...}``) also
gives a *key map*: the JSON key under which each variable is logged, so a
``jsonPayload`` or a JSON syslog message with the team's own key names
(``"apiProxy"``, ``"proxyResponseCode"``) maps onto flow variables.

rsyslog writes control characters of a message as ``#`` and three octal
digits (``#012`` for a newline, ``#011`` for a tab) unless told otherwise;
:func:`unescape_rsyslog` undoes that.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from copilot.errors import UsageError
from copilot.logs.fields import DEFAULT_SYSLOG_TEMPLATE
from copilot.logs.flowvars import flatten
from copilot.logs.quarantine import NO_TEMPLATE_MATCH, Malformed

# {variable} or {function(args)}; a variable name holds letters, digits, dots and dashes.
_EXPRESSION = r"[A-Za-z_][A-Za-z0-9_]*\([^{}()]*\)|[A-Za-z0-9_.\-]+"
_PLACEHOLDER = re.compile(r"\{(" + _EXPRESSION + r")\}")
_FUNCTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\((?P<args>[^()]*)\)$")
_KEY_VALUE = re.compile(r'"(?P<key>[^"\\]+)"\s*:\s*"?\{(?P<expr>' + _EXPRESSION + r')\}"?')
_RSYSLOG_ESCAPE = re.compile(r"#(0[0-3][0-7]|177)")
_QUOTED_VALUE = r'[^"]*'
_BARE_VALUE = r"\S*"
# An unquoted JSON object (two levels of nesting) or array, else the shortest text.
_JSON_OR_TEXT = r'(?:\{(?:[^{}"]|"(?:[^"\\]|\\.)*"|\{[^{}]*\})*\}|\[[^\[\]]*\]|.*?)'
_POLICY_PATHS = (
    "./Syslog/Message",
    "./CloudLogging/Message",
    "./Request/Set/Payload",
)


def variable_of(expression: str) -> str:
    """The flow variable a placeholder names (``escapeJSON(message.content)`` -> its argument)."""
    match = _FUNCTION.match(expression)
    if not match:
        return expression
    args = [a.strip() for a in match.group("args").split(",") if a.strip()]
    return args[0] if len(args) == 1 else expression


def unescape_rsyslog(text: str) -> str:
    """Undo rsyslog's ``#ooo`` escapes of control characters (``#012`` -> newline)."""
    if "#" not in text:
        return text
    return _RSYSLOG_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def template_from_policy(xml_text: str) -> str:
    """The message template of a MessageLogging (or Cloud Logging ServiceCallout) policy."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise UsageError(f"the policy is not well-formed XML ({exc})") from exc
    for path in _POLICY_PATHS:
        node = root.find(path)
        if node is not None and (node.text or "").strip():
            return node.text.strip()
    raise UsageError(
        f"no <Syslog><Message>, <CloudLogging><Message> or <Payload> in the {root.tag} policy"
    )


def load_template(text: str) -> str:
    """A template given on the command line or in a file: policy XML or the message itself."""
    stripped = text.strip()
    if stripped.startswith("<") and re.search(r"<(MessageLogging|ServiceCallout)\b", stripped):
        return template_from_policy(stripped)
    return stripped


class Template:
    """A compiled MessageLogging template: a regex over the message and a JSON key map."""

    def __init__(self, text: str = DEFAULT_SYSLOG_TEMPLATE) -> None:
        found = [m.group(1) for m in _PLACEHOLDER.finditer(text)]
        if not found:
            raise UsageError("the message template has no {flow.variable} placeholder")
        self.text = text
        self.variables = [variable_of(expr) for expr in found]
        self.regex = re.compile(r"^\s*" + _pattern(text) + r"\s*$", re.DOTALL)
        self.keys = {
            m.group("key"): variable_of(m.group("expr")) for m in _KEY_VALUE.finditer(text)
        }
        self.is_json = text.lstrip().startswith("{") and bool(self.keys)

    def parse(self, message: str) -> dict[str, Any]:
        """Flow variables of one message; ValueError when it does not fit the template."""
        if self.is_json and message.lstrip().startswith("{"):
            try:
                payload = json.loads(message)
            except json.JSONDecodeError:
                payload = None  # e.g. an unescaped quote in a value: try the regex
            if isinstance(payload, dict):
                return self.map_keys(flatten(payload))
        match = self.regex.match(message)
        if not match:
            raise Malformed(NO_TEMPLATE_MATCH, "does not match the message template")
        return {name: match.group(f"v{i}") for i, name in enumerate(self.variables)}

    def map_keys(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Payload keys renamed to the flow variables the template logs under them."""
        out: dict[str, Any] = {}
        for key, value in payload.items():
            name = self.keys.get(key) or self.keys.get(key.rsplit(".", 1)[-1]) or key
            if isinstance(value, list | dict):
                value = json.dumps(value)
            out.setdefault(name, value)
        return out


def _literal(text: str) -> str:
    """A literal run of the template: whitespace matches any whitespace or none."""
    return r"\s*".join(re.escape(part) for part in re.split(r"\s+", text))


def _pattern(text: str) -> str:
    parts: list[str] = []
    pos = 0
    matches = list(_PLACEHOLDER.finditer(text))
    for index, match in enumerate(matches):
        literal = text[pos : match.start()]
        parts.append(_literal(literal))
        after = (
            text[match.end() : matches[index + 1].start()]
            if index + 1 < len(matches)
            else (text[match.end() :])
        )
        if literal.endswith('"') and after.startswith('"'):
            value = _QUOTED_VALUE
        elif index + 1 < len(matches) and not after.strip():
            value = _BARE_VALUE  # two placeholders in a row: nothing marks the boundary
        else:
            value = _JSON_OR_TEXT
        parts.append(f"(?P<v{index}>{value})")
        pos = match.end()
    parts.append(_literal(text[pos:]))
    return "".join(parts)
