"""A FlowCallout's <Parameter>s set the called shared flow's refs, per call site.

Apigee sets each parameter as a flow variable before the shared flow runs
(cloud.google.com/apigee/docs/api-platform/reference/policies/flow-callout-policy), so one
shared-flow SpikeArrest with ``<Rate ref="custom.rate"/>`` runs at 30ps in the devrel proxy
template and at 10ps in healthcare-v1 (the real corpus, tests/fixtures/real). The expected
values are the ``[[call_site]]`` entries of EXPECTED.toml, written from the XML and the docs.
"""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from copilot.throttling.bundle import Attachment, CurrentPolicy, read_estate
from copilot.throttling.bundle_params import callout_params, merged, resolve
from copilot.throttling.run import suggest_paths
from tests.paths import FIXTURES
from tests.throttling.test_replay_current import T0, step, write_bundle, write_logs

CORPUS = FIXTURES / "real" / "bundles"
CALL_SITES = tomllib.loads((CORPUS / "EXPECTED.toml").read_text(encoding="utf-8"))["call_site"]
TRAFFIC = ["devrel-proxy-template", "devrel-dutch-healthcare", "devrel-traffic-mgmt-sharedflow"]


def _policy(estate, folder: str, name: str) -> CurrentPolicy:
    found = [p for p in estate.policies if p.name == name and f"/{folder}/" in p.source]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("site", CALL_SITES, ids=lambda s: f"{s['policy']}@{s['proxy']}")
def test_a_real_call_site_sets_the_shared_flow_rate(site: dict) -> None:
    estate = read_estate(CORPUS)
    policy = _policy(estate, site["bundle"], site["policy"])
    assert policy.rate is None and policy.rate_ref == "custom.rate"  # the file alone: unknown
    here = resolve(policy, site["proxy"])
    assert here.rate == site["rate"] and here.rate_ref is None, site["why"]
    assert any("custom.rate" in r and "Shared.TrafficManagement" in r for r in here.resolved)


def test_the_estate_shows_every_call_site_value_of_a_ref() -> None:
    policy = _policy(read_estate([CORPUS / f for f in TRAFFIC]), TRAFFIC[2], "SpikeArrest")
    text = policy.value_text()
    assert "'30ps' via FlowCallout Shared.TrafficManagement in proxy @ProxyName@-@Version@" in text
    assert "'10ps' via FlowCallout Shared.TrafficManagement in proxy healthcare-v1" in text


def _steady(proxy: str, per_second: int, seconds: int) -> list[dict]:
    step_ms = 1000 // per_second
    return [
        {"client_received_start_timestamp": T0 + i * step_ms, "apiproxy": proxy,
         "developer_app": "app", "client_id": "key", "request_verb": "GET",
         "request_path": "/healthcare/v1/AllergyIntolerance/1", "response_status_code": 200}
        for i in range(per_second * seconds)
    ]  # fmt: skip


def test_the_same_traffic_is_replayed_at_each_proxy_s_own_rate(tmp_path: Path) -> None:
    # 20 requests a second, evenly spaced: under 30ps nothing is refused; 10ps admits one
    # request per 100 ms, so about half are.
    rows = _steady("@ProxyName@-@Version@", 20, 30) + _steady("healthcare-v1", 20, 30)
    logs = write_logs(tmp_path / "logs.csv", rows)
    report = suggest_paths([logs], bundles=[CORPUS / f for f in TRAFFIC]).report
    entries = {e["proxy"]: e for e in report.current_replays if e["policy"] == "SpikeArrest"}
    template, healthcare = entries["@ProxyName@-@Version@"], entries["healthcare-v1"]
    assert template["rows"] == healthcare["rows"] == 600
    assert template["rejected"] == 0
    assert 0.4 * 600 <= healthcare["rejected"] <= 0.6 * 600
    assert any("'10ps'" in n and "healthcare-v1" in n for n in healthcare["notes"])


@pytest.mark.parametrize(
    ("xml", "params"),
    [
        ('<Parameter name="custom.rate">30ps</Parameter>', (("custom.rate", "30ps"),)),
        ('<Parameter name="custom.rate" value="5pm"/>', (("custom.rate", "5pm"),)),
        ('<Parameter name="custom.id" ref="client.ip"/>', (("custom.id", "{client.ip}"),)),
        ('<Parameter name="a">1</Parameter><Parameter name="a">2</Parameter>', (("a", "2"),)),
        ('<Parameter>nameless</Parameter>', ()),
    ],
)
def test_callout_params_read_every_documented_form(xml: str, params: tuple) -> None:
    root = ET.fromstring(f"<FlowCallout><Parameters>{xml}</Parameters></FlowCallout>")
    assert callout_params(root) == params


def test_a_nested_call_reads_its_refs_from_the_outer_call() -> None:
    outer = (("tier.rate", "7ps"), ("keep", "x"))
    assert dict(merged(outer, (("custom.rate", "{tier.rate}"), ("keep", "y")))) == {
        "tier.rate": "7ps", "keep": "y", "custom.rate": "7ps"}  # fmt: skip


def _shared(params_by_site: list[tuple], **fields) -> CurrentPolicy:
    atts = tuple(Attachment("sharedflows/default.xml", "", f"FlowCallout FC{i} in proxy p", "p",
                            False, params) for i, params in enumerate(params_by_site))  # fmt: skip
    return CurrentPolicy("sf", "SA", "SpikeArrest", bundle_kind="sharedflow", attachments=atts,
                         **fields)  # fmt: skip


def test_call_sites_that_disagree_in_one_proxy_keep_the_fallback_and_say_so() -> None:
    policy = _shared([(("custom.rate", "30ps"),), (("custom.rate", "10ps"),)],
                     rate="100ps", rate_ref="custom.rate")  # fmt: skip
    here = resolve(policy, "p")
    assert (here.rate, here.rate_ref) == ("100ps", "custom.rate")
    assert "set differently by the call sites in p" in here.resolved[0]


@pytest.mark.parametrize(
    ("value", "identifier", "kind"),
    [("{proxy.client.ip}", "proxy.client.ip", "client_ip"), ("everyone", None, "none")],
)
def test_a_call_site_may_set_the_identifier(value: str, identifier, kind: str) -> None:
    policy = _shared([(("custom.who", value),)], rate="5ps", identifier="custom.who")
    assert policy.identifier_kind == "custom"
    here = resolve(policy, "p")
    assert (here.identifier, here.identifier_kind) == (identifier, kind)


def test_a_quota_s_refs_take_the_call_site_numbers() -> None:
    policy = CurrentPolicy(
        "sf", "Q", "Quota", allow=1, allow_ref="c.allow", interval=None, interval_ref="c.n",
        time_unit="minute", time_unit_ref="c.unit", bundle_kind="sharedflow",
        attachments=(Attachment("w", "", "FlowCallout FC in proxy p", "p", False,
                                (("c.allow", "50"), ("c.n", "2"), ("c.unit", "hour"))),),
    )  # fmt: skip
    here = resolve(policy, "p")
    assert (here.allow, here.interval, here.time_unit) == (50, 2, "hour")
    assert (here.allow_ref, here.interval_ref, here.time_unit_ref) == (None, None, None)


def test_a_shared_flow_condition_on_a_parameter_is_evaluated(tmp_path: Path) -> None:
    # The shared flow runs its SpikeArrest only when the caller passes custom.enforce = on.
    bundles = tmp_path / "bundles"
    for proxy, value in (("on-proxy", "on"), ("off-proxy", "off")):
        fc = ('<FlowCallout name="FC"><SharedFlowBundle>limits</SharedFlowBundle><Parameters>'
              f'<Parameter name="custom.enforce">{value}</Parameter></Parameters></FlowCallout>')  # fmt: skip
        write_bundle(bundles, {"FC": fc}, pre=step("FC"), proxy=proxy)
    sf = bundles / "limits" / "sharedflowbundle"
    (sf / "policies").mkdir(parents=True)
    (sf / "sharedflows").mkdir()
    (sf / "limits.xml").write_text('<SharedFlowBundle name="limits"/>')
    (sf / "sharedflows" / "default.xml").write_text(
        '<SharedFlow name="default">' + step("SA", 'custom.enforce = "on"') + "</SharedFlow>"
    )
    (sf / "policies" / "SA.xml").write_text('<SpikeArrest name="SA"><Rate>1ps</Rate></SpikeArrest>')
    logs = write_logs(tmp_path / "logs.csv", _steady("on-proxy", 4, 5) + _steady("off-proxy", 4, 5))
    report = suggest_paths([logs], bundles=[bundles]).report
    entries = {e["proxy"]: e for e in report.current_replays if e["policy"] == "SA"}
    assert (entries["on-proxy"]["rows"], entries["on-proxy"]["unknown_rows"]) == (20, 0)
    assert (entries["off-proxy"]["rows"], entries["off-proxy"]["unknown_rows"]) == (0, 0)
