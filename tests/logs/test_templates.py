"""Message templates as real policies write them: several lines, unquoted JSON, rsyslog escapes."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from copilot.errors import UsageError
from copilot.logs.reader import ReadOptions, detect_format, read_logs
from copilot.logs.templates import (
    Template,
    load_template,
    template_from_policy,
    unescape_rsyslog,
    variable_of,
)
from tests.paths import LOGS

POLICY = (LOGS / "ml_syslog_policy.xml").read_text()
HEADER = "<134>1 2025-11-16T10:00:0{i}.000Z mp-7f9c apigee - - - "

VALUES = [
    {
        "client.received.start.timestamp": "1763287200123",
        "apiproxy.name": "orders",
        "request.verb": "GET",
        "request.path": "/v1/orders/8412",
        "response.status.code": "200",
        "target.response.status.code": "200",
        "developer.app.name": "web-storefront",
        "flow.ctx.json": '{"tier": "gold", "regions": ["eu", "us"], "limits": {"rps": 50}}',
        "request.headers.names": "[Accept, Host, User-Agent]",
        "request.header.user-agent": "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101",
        "fault.name": "",
    },
    {
        "client.received.start.timestamp": "1763287201001",
        "apiproxy.name": "catalog",
        "request.verb": "POST",
        "request.path": "/v1/catalog/search",
        "response.status.code": "429",
        "target.response.status.code": "",
        "developer.app.name": "",
        "flow.ctx.json": "{}",
        "request.headers.names": "[Host]",
        "request.header.user-agent": "python-requests/2.31",
        "fault.name": "SpikeArrestViolation",
    },
]


def render(template: str, values: dict[str, str]) -> str:
    """The message as Apigee renders it: every {variable} replaced, the rest verbatim."""
    return re.sub(r"\{([A-Za-z0-9_.\-]+)\}", lambda m: values.get(m.group(1), ""), template)


def rsyslog(message: str) -> str:
    """What rsyslog writes for a message with control characters: #ooo octal escapes."""
    return "".join(f"#{ord(c):03o}" if ord(c) < 32 else c for c in message)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a#012b", "a\nb"),
        ("#011tab", "\ttab"),
        ("crlf#015#012", "crlf\r\n"),
        ("/v1/items#123", "/v1/items#123"),  # not a control character: left alone
        ("no escapes", "no escapes"),
    ],
)
def test_rsyslog_octal_escapes_are_undone(text: str, expected: str) -> None:
    assert unescape_rsyslog(text) == expected


def test_the_template_of_a_policy_over_several_lines_reads_rsyslog_lines(tmp_path: Path) -> None:
    template = template_from_policy(POLICY)
    assert "\n" in template  # the policy's message really spans lines
    lines = [HEADER.format(i=i) + rsyslog(render(template, v)) for i, v in enumerate(VALUES)]
    assert "#012" in lines[0]
    path = tmp_path / "messages.log"
    path.write_text("\n".join(lines) + "\n")
    assert detect_format(path) == "syslog"
    frame, q = read_logs([path], ReadOptions(template=template))
    assert (q.records, q.rejected) == (2, 0), q.samples
    assert list(frame["proxy"]) == ["orders", "catalog"]
    assert list(frame["path"]) == ["/v1/orders/8412", "/v1/catalog/search"]
    assert list(frame["status"]) == [200, 429]
    assert frame.iloc[0]["useragent"] == VALUES[0]["request.header.user-agent"]
    assert frame.iloc[1]["fault_code"] == "policies.ratelimit.SpikeArrestViolation"
    assert frame.iloc[1]["app"] == "(not set)"


def test_unquoted_json_values_with_spaces_are_taken_whole() -> None:
    template = Template(template_from_policy(POLICY))
    message = " ".join(render(template.text, VALUES[0]).split())  # whitespace collapsed
    parsed = template.parse(message)
    assert parsed["flow.ctx.json"] == VALUES[0]["flow.ctx.json"]
    assert parsed["request.headers.names"] == "[Accept, Host, User-Agent]"
    assert parsed["request.header.user-agent"] == VALUES[0]["request.header.user-agent"]
    assert parsed["fault.name"] == ""


def test_a_line_that_does_not_fit_the_template_is_rejected_not_guessed() -> None:
    template = Template(template_from_policy(POLICY))
    with pytest.raises(ValueError, match="does not match"):
        template.parse("ts=1 proxy=orders this line was written by another policy")


def test_a_json_template_maps_the_teams_key_names_to_flow_variables() -> None:
    template = Template(
        '{"apiProxy": "{apiproxy.name}", "code": {response.status.code},\n'
        ' "body": "{escapeJSON(message.content)}"}'
    )
    assert template.keys == {
        "apiProxy": "apiproxy.name",
        "code": "response.status.code",
        "body": "message.content",
    }
    parsed = template.parse('{"apiProxy": "orders", "code": 503, "body": "say \\"hi\\""}')
    assert parsed == {
        "apiproxy.name": "orders",
        "response.status.code": 503,
        "message.content": 'say "hi"',
    }


@pytest.mark.parametrize(
    ("expression", "variable"),
    [
        ("apiproxy.name", "apiproxy.name"),
        ("escapeJSON(message.content)", "message.content"),
        ("firstnonnull(a.b,c.d)", "firstnonnull(a.b,c.d)"),
    ],
)
def test_a_placeholder_names_its_variable(expression: str, variable: str) -> None:
    assert variable_of(expression) == variable


def test_a_template_file_may_be_the_policy_itself() -> None:
    assert load_template(POLICY) == template_from_policy(POLICY)
    assert load_template("  ts={system.timestamp}\n") == "ts={system.timestamp}"


def test_a_policy_without_a_message_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no <Syslog><Message>"):
        template_from_policy(
            '<MessageLogging name="x"><Syslog><Host>h</Host></Syslog></MessageLogging>'
        )
    with pytest.raises(UsageError, match="not well-formed"):
        template_from_policy("<MessageLogging>")


def test_rsyslog_file_format_headers_give_the_time(tmp_path: Path) -> None:
    message = "ts= proxy=orders verb=GET path=/v1/x status=200"
    path = tmp_path / "rsyslog.log"
    path.write_text(f"2025-11-16T10:00:03.250000+00:00 mp-7f9c apigee: {message}\n")
    template = "ts={client.received.start.timestamp} proxy={apiproxy.name} verb={request.verb} path={request.path} status={response.status.code}"
    assert detect_format(path) == "syslog"
    frame, q = read_logs([path], ReadOptions(template=template))
    assert q.records == 1
    assert frame.iloc[0]["ts"] == pd.Timestamp("2025-11-16T10:00:03.250Z")
