"""Replaying the limits a bundle has: per identity, where conditions hold, never a wrong number.

Each case writes a small Apigee analytics CSV and a bundle in Apigee's shape, runs the
real ``suggest_paths`` and reads the replay entry of one policy.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from copilot.throttling.run import suggest_paths

T0 = 1_794_787_200_000  # 2026-11-16 00:00:00 UTC
COLUMNS = ("client_received_start_timestamp", "apiproxy", "developer_app", "client_id",
           "request_verb", "request_path", "response_status_code", "client_ip",
           "ax_execution_fault_policy_name", "ax_edge_execution_fault_code")  # fmt: skip


def write_logs(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return path


def traffic(
    minutes: int = 30,
    per_minute: int = 8,
    apps: tuple[str, ...] = ("alpha", "beta", "gamma"),
    keys: bool = True,
    **extra,
) -> list[dict]:
    """Each app sends ``per_minute`` requests every minute, evenly spaced, interleaved."""
    rows = []
    step = 60_000 // per_minute
    for m in range(minutes):
        for i in range(per_minute):
            for n, app in enumerate(apps):
                rows.append({
                    "client_received_start_timestamp": T0 + m * 60_000 + i * step + n * 7,
                    "apiproxy": "payments",
                    "developer_app": app if keys else "(not set)",
                    "client_id": f"key-{app}" if keys else "(not set)",
                    "request_verb": "POST" if i % 2 else "GET",
                    "request_path": "/v1/payments/charges/1" if i % 4 == 1 else "/v1/payments/refunds",
                    "response_status_code": 503 if i == 0 else 200,
                    "client_ip": f"203.0.113.{n + 1}",
                    **extra,
                })  # fmt: skip
    return rows


ENDPOINT = """<ProxyEndpoint name="default">
  <FaultRules>{faults}</FaultRules>
  <PreFlow name="PreFlow"><Request>{pre}</Request><Response/></PreFlow>
  <Flows>{flows}</Flows>
  <PostFlow name="PostFlow"><Request/><Response>{post}</Response></PostFlow>
  <HTTPProxyConnection><BasePath>/v1/payments</BasePath></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>"""


def step(name: str, condition: str = "") -> str:
    cond = f"<Condition>{condition}</Condition>" if condition else ""
    return f"<Step><Name>{name}</Name>{cond}</Step>"


def write_bundle(root: Path, policies: dict[str, str], *, pre="", flows="", post="", faults="",
                 proxy: str = "payments") -> Path:  # fmt: skip
    api = root / proxy / "apiproxy"
    (api / "policies").mkdir(parents=True)
    (api / "proxies").mkdir()
    (api / f"{proxy}.xml").write_text(f'<APIProxy name="{proxy}"/>')
    (api / "proxies" / "default.xml").write_text(
        ENDPOINT.format(pre=pre, flows=flows, post=post, faults=faults)
    )
    for name, xml in policies.items():
        (api / "policies" / f"{name}.xml").write_text(xml)
    return root


def spike(
    name: str, rate: str, identifier: str | None = None, extra: str = "", attrs: str = ""
) -> str:
    ident = f'<Identifier ref="{identifier}"/>' if identifier else ""
    return (f'<SpikeArrest name="{name}" {attrs}>{ident}<Rate>{rate}</Rate>'
            f"<UseEffectiveCount>true</UseEffectiveCount>{extra}</SpikeArrest>")  # fmt: skip


def quota(
    name: str, allow: int, unit: str = "minute", identifier: str | None = None, extra: str = ""
) -> str:
    ident = f'<Identifier ref="{identifier}"/>' if identifier else ""
    return (f'<Quota name="{name}" type="calendar">{ident}<Allow count="{allow}"/>'
            f"<Interval>1</Interval><TimeUnit>{unit}</TimeUnit>"
            f"<StartTime>2026-11-16 00:00:00</StartTime>{extra}</Quota>")  # fmt: skip


def replayed(tmp_path: Path, rows: list[dict], policies: dict[str, str], **flows):
    logs = write_logs(tmp_path / "logs.csv", rows)
    bundles = write_bundle(tmp_path / "bundles", policies, **flows)
    report = suggest_paths([logs], bundles=[bundles]).report
    return {e["policy"]: e for e in report.current_replays}, report


def test_a_per_api_key_limit_is_never_replayed_proxy_wide(tmp_path: Path) -> None:
    # 3 keys x 8 requests a minute under a 10pm per-key limit: nothing to reject per key,
    # while one proxy-wide 10pm counter would reject more than half.
    policies = {"SA-PerKey": spike("SA-PerKey", "10pm", "request.header.x-api-key"),
                "SA-Proxy": spike("SA-Proxy", "10pm")}  # fmt: skip
    pre = step("SA-PerKey") + step("SA-Proxy")
    with_keys, _ = replayed(tmp_path / "a", traffic(), policies, pre=pre)
    per_key, proxy_wide = with_keys["SA-PerKey"], with_keys["SA-Proxy"]
    assert per_key["identity"] == "api_key"
    assert per_key["rows"] == proxy_wide["rows"] == 3 * 8 * 30
    assert per_key["rejected"] == 0
    assert proxy_wide["rejected"] > 0.5 * proxy_wide["rows"]  # what the old reading reported

    no_keys, report = replayed(tmp_path / "b", traffic(keys=False), policies, pre=pre)
    unavailable = no_keys["SA-PerKey"]
    assert unavailable["rejected"] is None and unavailable["legit_healthy_rejected_share"] is None
    assert any("per-api_key limit; the logs have no client_id" in n for n in unavailable["notes"])
    assert any("SA-PerKey" in w and "unavailable" in w for w in report.warnings)
    assert no_keys["SA-Proxy"]["rejected"] > 0  # the proxy-wide one still replays


@pytest.mark.parametrize(
    ("identifier", "identity", "per_counter"),
    [
        ("client_id", "client_id", 8),
        ("developer.app.name", "app", 8),
        ("proxy.client.ip", "client_ip", 8),
        (None, "none", 24),
    ],
)
def test_one_counter_per_identity_the_logs_carry(
    tmp_path, identifier, identity, per_counter
) -> None:
    # A quota of 20 per minute: 8 a minute per caller fits, 24 a minute on one counter does not.
    entries, _ = replayed(tmp_path, traffic(minutes=5), {"Q": quota("Q", 20, identifier=identifier)},
                          pre=step("Q"))  # fmt: skip
    q = entries["Q"]
    assert q["identity"] == identity
    assert q["rejected"] == (0 if per_counter <= 20 else 5 * (per_counter - 20))


@pytest.mark.parametrize(
    ("identifier", "identity"),
    [
        ("developer.email", "developer"),
        ("jwt.JWT-1.claim.azp", "jwt_claim"),
        ("flow.tenant", "custom"),
    ],
)
def test_an_identity_the_logs_lack_has_no_numbers(tmp_path, identifier, identity) -> None:
    entries, report = replayed(tmp_path, traffic(minutes=2), {"Q": quota("Q", 1, identifier=identifier)},
                               pre=step("Q"))  # fmt: skip
    assert entries["Q"]["identity"] == identity and entries["Q"]["rejected"] is None
    assert any(f"per-{identity} limit" in w for w in report.warnings)


def test_a_flow_condition_limits_the_rows_replayed(tmp_path: Path) -> None:
    flows = ('<Flow name="charges"><Condition>(proxy.pathsuffix MatchesPath "/charges/**") and '
             '(request.verb = "POST")</Condition><Request>' + step("SA-Charges") + "</Request></Flow>"
             '<Flow name="test"><Condition>request.queryparam.test = "spikearrest"</Condition>'
             "<Request>" + step("SA-Test") + "</Request></Flow>")  # fmt: skip
    policies = {"SA-Charges": spike("SA-Charges", "1pm"), "SA-Test": spike("SA-Test", "1pm")}
    entries, report = replayed(tmp_path, traffic(minutes=10), policies, flows=flows)
    # i % 4 == 1 is a POST to /charges/1: 2 of 8 per minute per app; pathsuffix from the base path
    assert (
        entries["SA-Charges"]["rows"] == 3 * 2 * 10 and entries["SA-Charges"]["unknown_rows"] == 0
    )
    test = entries["SA-Test"]
    assert (test["rows"], test["unknown_rows"]) == (0, 3 * 8 * 10)
    assert test["missing_variables"] == ["request.queryparam.test"]
    assert any(
        "SA-Test" in w and "request.queryparam.test" in w and "240" in w for w in report.warnings
    )


def test_a_fault_rule_limit_runs_only_on_faults_its_condition_names(tmp_path: Path) -> None:
    faults = ('<FaultRule name="busy"><Condition>response.status.code = 503</Condition>'
              + step("SA-Fault") + "</FaultRule>")  # fmt: skip
    entries, _ = replayed(tmp_path, traffic(minutes=4), {"SA-Fault": spike("SA-Fault", "100pm")},
                          faults=faults)  # fmt: skip
    assert entries["SA-Fault"]["rows"] == 3 * 1 * 4  # i == 0 answered 503


def test_continue_on_error_would_count_and_never_rejects(tmp_path: Path) -> None:
    policies = {"SA-Shadow": spike("SA-Shadow", "2pm", attrs='continueOnError="true"')}
    entries, report = replayed(tmp_path, traffic(minutes=3), policies, pre=step("SA-Shadow"))
    shadow = entries["SA-Shadow"]
    assert shadow["rejected"] == 0 and shadow["would_trip"] > 0
    assert any("would count, never rejects" in n for n in shadow["notes"])
    assert any("SA-Shadow" in w and "never rejects" in w for w in report.warnings)


def test_a_literal_message_weight_multiplies_the_count_and_a_ref_is_unknown(tmp_path: Path) -> None:
    policies = {
        "Q-Plain": quota("Q-Plain", 20, identifier="client_id"),
        "Q-Weight": quota("Q-Weight", 20, identifier="client_id", extra="<MessageWeight>4</MessageWeight>"),
        "Q-Ref": quota("Q-Ref", 20, identifier="client_id", extra='<MessageWeight ref="request.header.w"/>'),
    }  # fmt: skip
    entries, _ = replayed(tmp_path, traffic(minutes=5), policies,
                          pre=step("Q-Plain") + step("Q-Weight") + step("Q-Ref"))  # fmt: skip
    assert entries["Q-Plain"]["rejected"] == 0
    assert entries["Q-Weight"]["rejected"] == 3 * 5 * (8 - 20 // 4)  # 5 admitted per minute
    assert entries["Q-Ref"]["rejected"] is None
    assert any("request.header.w" in n for n in entries["Q-Ref"]["notes"])


def test_a_count_only_and_enforce_only_pair_is_one_quota(tmp_path: Path) -> None:
    shared = "<SharedName>daily</SharedName>"
    policies = {
        "Q-Enforce": quota("Q-Enforce", 6, identifier="client_id", extra=shared + "<EnforceOnly>true</EnforceOnly>"),
        "Q-Count": quota("Q-Count", 6, identifier="client_id", extra=shared + "<CountOnly>true</CountOnly>"),
        "Q-Alone": quota("Q-Alone", 6, identifier="client_id", extra="<CountOnly>true</CountOnly>"),
    }  # fmt: skip
    # counted only on success responses (7 of 8 a minute per app)
    entries, _ = replayed(tmp_path, traffic(minutes=2), policies, pre=step("Q-Enforce") + step("Q-Alone"),
                          post=step("Q-Count", "response.status.code &lt; 400"))  # fmt: skip
    pair = entries["Q-Enforce + Q-Count"]
    assert "Q-Count" not in entries and "Q-Enforce" not in entries
    # every request is checked (8 a minute per app), the 7 answered ones count: the 8th is refused
    assert pair["rows"] == 3 * 8 * 2 and pair["rejected"] == 3 * 1 * 2
    alone = entries["Q-Alone"]
    assert alone["rejected"] == 0 and alone["would_trip"] == 3 * 2 * 2


def test_a_pair_refuses_only_where_its_enforcer_runs(tmp_path: Path) -> None:
    # The enforcer checks POSTs only (i odd); the counter counts every answered request
    # (i = 1..7). Allow 4 a minute: i = 5 and i = 7 are refused, never the GET i = 6,
    # which a replay over the counter's rows alone would refuse too (3 a minute).
    shared = "<SharedName>posts</SharedName>"
    policies = {
        "Q-Enforce": quota("Q-Enforce", 4, identifier="client_id", extra=shared + "<EnforceOnly>true</EnforceOnly>"),
        "Q-Count": quota("Q-Count", 4, identifier="client_id", extra=shared + "<CountOnly>true</CountOnly>"),
    }  # fmt: skip
    entries, _ = replayed(tmp_path, traffic(minutes=2), policies,
                          pre=step("Q-Enforce", 'request.verb = "POST"'),
                          post=step("Q-Count", "response.status.code &lt; 400"))  # fmt: skip
    assert entries["Q-Enforce + Q-Count"]["rejected"] == 3 * 2 * 2


def test_a_ref_replays_its_fallback_and_says_it_may_differ(tmp_path: Path) -> None:
    xml = ('<Quota name="Q" type="calendar"><Allow count="9" countRef="verifyapikey.V.apiproduct.developer.quota.limit"/>'
           '<Interval ref="verifyapikey.V.apiproduct.developer.quota.interval">1</Interval>'
           '<TimeUnit ref="verifyapikey.V.apiproduct.developer.quota.timeunit">minute</TimeUnit>'
           "<StartTime>2026-11-16 00:00:00</StartTime></Quota>")  # fmt: skip
    entries, _ = replayed(tmp_path, traffic(minutes=2, apps=("alpha",)), {"Q": xml}, pre=step("Q"))
    assert entries["Q"]["rejected"] == 0  # 8 a minute under the fallback 9
    note = next(n for n in entries["Q"]["notes"] if "fallback" in n)
    assert "allowance, interval, time unit" in note and "may differ" in note


def test_warnings_name_absent_proxies_and_refusals_no_bundle_explains(tmp_path: Path) -> None:
    rows = traffic(minutes=2)
    rows[5].update(ax_execution_fault_policy_name="SA-Old",
                   ax_edge_execution_fault_code="policies.ratelimit.SpikeArrestViolation",
                   response_status_code=429)  # fmt: skip
    logs = write_logs(tmp_path / "logs.csv", rows)
    bundles = write_bundle(tmp_path / "bundles", {"SA": spike("SA", "100pm")}, pre=step("SA"))
    write_bundle(bundles, {"SA": spike("SA", "100pm")}, pre=step("SA"), proxy="ghost")
    warnings = suggest_paths([logs], bundles=[bundles]).report.warnings
    assert any("proxy ghost" in w and "no requests in the logs" in w for w in warnings)
    assert any("refused by SA-Old" in w and "no bundle read has" in w for w in warnings)


def test_requests_without_an_identity_share_one_counter_and_are_reported(tmp_path: Path) -> None:
    # Three keyed apps send 8 a minute each (under 10); two callers with no client id send 16
    # a minute between them, on the one counter a missing identifier gives: 6 refused a minute.
    rows = traffic(minutes=2) + traffic(minutes=2, apps=("x", "y"), keys=False)
    rows.sort(key=lambda r: r["client_received_start_timestamp"])
    entries, report = replayed(tmp_path, rows, {"Q": quota("Q", 10, identifier="client_id")},
                               pre=step("Q"))  # fmt: skip
    q = entries["Q"]
    assert q["unidentified_rows"] == 2 * 8 * 2 and q["rejected"] == 6 * 2
    assert any("32 requests carry no client_id: they share one counter" in n for n in q["notes"])
    assert any("Q on payments: 32 requests with no client_id" in w for w in report.warnings)


def test_the_estate_fixture_replays_on_the_sample_where_a_pair_runs_nowhere() -> None:
    """The estate bundles on the bundled sample: the CountOnly/EnforceOnly pair's conditions
    hold on no request of payments, which once stopped the whole run."""
    from tests.paths import FIXTURES, SAMPLE_LOG

    run = suggest_paths([SAMPLE_LOG], bundles=[FIXTURES / "bundles" / "estate"])
    pair = [e for e in run.report.current_replays if e["policy"] == "Q-Enforce + Q-Count"]
    assert pair and pair[0]["rows"] == 0 and pair[0]["rejected"] == 0
