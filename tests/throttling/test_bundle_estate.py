"""Reading an estate: proxies and shared flows, flow hooks, FlowCallouts, conditions, identities."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from copilot.apigee.conditions import parse_condition
from copilot.errors import BundleError
from copilot.throttling.bundle import Estate, read_bundles, read_estate
from copilot.throttling.bundle_hooks import parse_hooks
from copilot.throttling.bundle_policies import identifier_kind
from tests.paths import FIXTURES
from tests.throttling.conftest import BUNDLES

ESTATE = FIXTURES / "bundles" / "estate"


def _policy_files(root: Path) -> set[tuple[str, str]]:
    """(bundle name, policy name) of every policies/*.xml under ``root``, read independently."""
    import xml.etree.ElementTree as ET

    out = set()
    for file in root.rglob("policies/*.xml"):
        bundle_root = file.parent.parent
        descriptor = next(p for p in bundle_root.glob("*.xml"))
        out.add((ET.parse(descriptor).getroot().get("name"), ET.parse(file).getroot().get("name")))
    return out


def _placed(estate: Estate) -> list[tuple[str, str]]:
    return (
        [(p.proxy, p.name) for p in estate.policies]
        + [(o.bundle, o.policy) for o in estate.other]
        + [(u.bundle, u.policy) for u in estate.unmodelled if u.policy is not None]
    )


@pytest.mark.parametrize("root", [ESTATE, BUNDLES])
def test_every_policy_file_lands_exactly_once(root: Path) -> None:
    placed = _placed(read_estate(root))
    assert sorted(placed) == sorted(_policy_files(root))
    assert len(placed) == len(set(placed))


def _by_name(estate: Estate) -> dict:
    return {p.name: p for p in estate.policies}


# name -> (bundle kind, identity, attachment conditions, via, fault)
EXPECTED = {
    "SA-PerKey": ("proxy", "api_key", [""], [None], [False]),
    "SA-Test": ("proxy", "none", ['request.queryparam.test = "spikearrest"'], [None], [False]),
    "SA-Fault": ("proxy", "none", ["response.status.code = 503"], [None], [True]),
    "Q-NoId": ("proxy", "none", [""], [None], [False]),
    "Q-Enforce": (
        "proxy",
        "client_id",
        [
            '((proxy.pathsuffix MatchesPath "/charges/**") and (request.verb = "POST")) '
            "and (client_id != null)"
        ],
        [None],
        [False],
    ),  # fmt: skip
    "SA-PerIP": (
        "sharedflow",
        "client_ip",
        ['request.verb != "OPTIONS"'],
        ["FlowCallout FC-Limits in proxy payments"],
        [False],
    ),  # fmt: skip
    "Q-PerDeveloper": (
        "sharedflow",
        "developer",
        ['(request.verb != "OPTIONS") and (developer.email != null)'],
        ["FlowCallout FC-Limits in proxy payments"],
        [False],
    ),  # fmt: skip
    "SA-Global": ("sharedflow", "none", [""], ["flowhook:PreProxyFlowHook"], [False]),
    "Q-Product": ("sharedflow", "product", [""], ["flowhook:PreProxyFlowHook"], [False]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_limit_keeps_its_identity_and_where_it_runs(name: str) -> None:
    p = _by_name(read_estate(ESTATE))[name]
    kind, identity, conditions, via, fault = EXPECTED[name]
    assert (p.bundle_kind, p.identifier_kind) == (kind, identity)
    assert [a.condition for a in p.attachments] == conditions
    assert [a.via for a in p.attachments] == via
    assert [a.fault for a in p.attachments] == fault
    assert p.conditions == tuple(conditions)  # the old field follows the attachments


def test_shared_flow_limits_run_in_the_proxies_that_reach_them() -> None:
    found = _by_name(read_estate(ESTATE))
    assert found["SA-PerIP"].proxies() == ("payments",)  # FlowCallout in payments
    assert found["SA-Global"].proxies() == (None,)  # a flow hook: every proxy
    assert found["SA-Global"].runs_in("anything")
    assert not found["SA-PerIP"].runs_in("orders")
    infos = {b.name: b for b in read_estate(ESTATE).bundles}
    assert infos["sf-global"].attached_by == ("flowhook:PreProxyFlowHook",)
    assert infos["sf-limits"].attached_by == ("FlowCallout FC-Limits in proxy payments",)
    assert infos["payments"].base_paths == ("/v1/payments",)
    assert {b.kind for b in infos.values()} == {"proxy", "sharedflow"}


def test_what_the_xml_says_is_kept_not_dropped() -> None:
    found = _by_name(read_estate(ESTATE))
    assert found["Q-Tokens"].message_weight_ref == "request.header.x-token-count"
    assert found["SA-Shadow"].continue_on_error and not found["SA-Shadow"].enforces
    count, enforce = found["Q-Count"], found["Q-Enforce"]
    assert (count.quota_role, count.shared_name, count.synchronous) == (
        "count_only",
        "charges-daily",
        True,
    )
    assert (enforce.quota_role, enforce.shared_name) == ("enforce_only", "charges-daily")
    product = found["Q-Product"]
    assert product.interval_ref.endswith("quota.interval") and product.interval == 1
    assert product.time_unit_ref.endswith("quota.timeunit") and product.time_unit == "day"
    assert found["SA-Global"].rate_ref == "propertyset.limits.global-rate"
    assert found["SA-Global"].rate == "600pm"  # the fallback


def test_unmodelled_says_what_is_ignored() -> None:
    estate = read_estate(ESTATE)
    reasons = {(u.bundle, u.policy): u.reason for u in estate.unmodelled}
    assert "never runs" in reasons[("payments", "SA-Orphan")]
    assert "never runs" in reasons[("sf-orphan", "SA-Unused")]
    assert "resets Quota counters" in reasons[("payments", "RQ-Reset")]
    loose = [u.reason for u in estate.unmodelled if u.policy is None]
    assert any("Q-PerDeveloper" in r and "developer" in r for r in loose)
    assert any("Q-Tokens" in r and "x-token-count" in r for r in loose)
    roles = {o.policy: o.role for o in estate.other}
    assert roles == {"VA-Key": "identity", "FC-Limits": "callout", "AM-Headers": "not-a-limit"}
    assert any("SA-Shadow" in w and "never rejects" in w for w in estate.warnings())


def test_without_the_flow_hooks_a_hooked_shared_flow_never_runs(tmp_path: Path) -> None:
    shutil.copytree(ESTATE, tmp_path / "estate")
    (tmp_path / "estate" / "flowhooks.json").unlink()
    estate = read_estate(tmp_path / "estate")
    assert "SA-Global" not in _by_name(estate)
    assert any(u.policy == "SA-Global" and "flowhooks" in u.reason for u in estate.unmodelled)
    # given explicitly, the hooks attach it again
    again = read_estate([tmp_path / "estate", ESTATE / "flowhooks.json"])
    assert "SA-Global" in _by_name(again)


def test_a_zip_of_several_bundles_with_its_hooks(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in sorted(ESTATE.rglob("*")):
            if file.is_file():
                z.write(file, "export/" + file.relative_to(ESTATE).as_posix())
    estate = read_estate(archive)
    assert {b.name for b in estate.bundles} == {"payments", "sf-limits", "sf-global", "sf-orphan"}
    assert sorted(_placed(estate)) == sorted(_placed(read_estate(ESTATE)))


def test_a_shared_flow_alone_is_read_not_refused() -> None:
    root = ESTATE / "sharedflows" / "sf-limits"
    estate = read_estate(root)
    assert [b.kind for b in estate.bundles] == ["sharedflow"]
    assert estate.policies == []  # nothing calls it here
    assert {u.policy for u in estate.unmodelled if u.policy} == {"SA-PerIP", "Q-PerDeveloper"}
    assert read_bundles(root) == []


def test_a_callout_to_a_shared_flow_not_read_is_a_warning() -> None:
    estate = read_estate(ESTATE / "payments")
    assert any("FC-Limits" in w and "sf-limits" in w and "unknown" in w for w in estate.warnings())


def test_shared_flows_calling_shared_flows_keep_every_condition(tmp_path: Path) -> None:
    root = tmp_path / "estate"
    shutil.copytree(ESTATE, root)
    flow = root / "sharedflows" / "sf-limits" / "sharedflowbundle"
    (flow / "policies" / "FC-Global.xml").write_text(
        '<FlowCallout name="FC-Global"><SharedFlowBundle>sf-global</SharedFlowBundle></FlowCallout>'
    )
    default = flow / "sharedflows" / "default.xml"
    default.write_text(default.read_text().replace(
        "<Step>", '<Step>\n    <Name>FC-Global</Name>\n    <Condition>client_id = "k"</Condition>\n  </Step>\n  <Step>', 1
    ))  # fmt: skip
    (root / "flowhooks.json").unlink()
    p = _by_name(read_estate(root))["SA-Global"]
    assert [a.condition for a in p.attachments] == [
        '(request.verb != "OPTIONS") and (client_id = "k")'
    ]
    assert p.attachments[0].via == (
        "FlowCallout FC-Limits in proxy payments -> FlowCallout FC-Global in sharedflow sf-limits"
    )
    assert p.proxies() == ("payments",)


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        (None, "none"),
        ("client_id", "client_id"),
        ("verifyapikey.VA-Key.client_id", "client_id"),
        ("developer.app.name", "app"),
        ("request.header.x-api-key", "api_key"),
        ("request.queryparam.apikey", "api_key"),
        ("api_key", "api_key"),
        ("client.ip", "client_ip"),
        ("proxy.client.ip", "client_ip"),
        ("request.header.x-forwarded-for", "client_ip"),
        ("jwt.JWT-Verify.claim.azp", "jwt_claim"),
        ("jwt.JWT-Decode.decoded.claim.client_id", "jwt_claim"),
        ("jwt.JWT-Verify.claim.sub", "jwt_claim"),
        ("developer.email", "developer"),
        ("apiproduct.name", "product"),
        ("flow.tenant.id", "custom"),
    ],
)
def test_identifier_kinds(ref: str | None, kind: str) -> None:
    assert identifier_kind(ref) == kind


HOOKS = [("PreProxyFlowHook", "sf-a"), ("PostTargetFlowHook", "sf-b")]


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"flowhooks": [{"flowHookPoint": p, "sharedFlow": f} for p, f in HOOKS]}),
        json.dumps(
            [{"flowHookPoint": p, "sharedFlow": f, "continueOnError": True} for p, f in HOOKS]
        ),
        json.dumps({p: f for p, f in HOOKS}),
        json.dumps({p: {"sharedFlow": f} for p, f in HOOKS}),
        "<FlowHooks>"
        + "".join(
            f'<FlowHook name="{p}"><ContinueOnError>true</ContinueOnError><SharedFlow>{f}</SharedFlow></FlowHook>'
            for p, f in HOOKS
        )
        + "</FlowHooks>",  # fmt: skip
    ],
)
def test_flow_hook_files_in_every_exported_shape(text: str) -> None:
    assert parse_hooks("hooks", text.encode()) == HOOKS


def test_a_broken_flow_hooks_file_names_itself(tmp_path: Path) -> None:
    bad = tmp_path / "flowhooks.json"
    bad.write_text("{not json")
    with pytest.raises(BundleError, match="flowhooks.json: not JSON or XML"):
        read_estate([ESTATE / "payments", bad])


def _proxy(root: Path, endpoint: str, target: str = "", policies: dict | None = None) -> Path:
    api = root / "apiproxy"
    for sub in ("policies", "proxies", "targets"):
        (api / sub).mkdir(parents=True, exist_ok=True)
    (api / "p.xml").write_text('<APIProxy name="p"/>')
    (api / "proxies" / "default.xml").write_text(endpoint)
    if target:
        (api / "targets" / "backup.xml").write_text(target)
    for name, xml in (
        policies or {"SA": '<SpikeArrest name="SA"><Rate>5pm</Rate></SpikeArrest>'}
    ).items():
        (api / "policies" / f"{name}.xml").write_text(xml)
    return root


def test_a_target_steps_run_only_when_the_route_rule_choosing_it_matches(tmp_path: Path) -> None:
    endpoint = (
        '<ProxyEndpoint name="default">'
        '<RouteRule name="backup"><Condition>request.header.x-backup = "1"</Condition>'
        "<TargetEndpoint>backup</TargetEndpoint></RouteRule>"
        '<RouteRule name="main"><Condition>request.verb = "GET"</Condition>'
        "<TargetEndpoint>main</TargetEndpoint></RouteRule>"
        '<RouteRule name="late"><TargetEndpoint>backup</TargetEndpoint></RouteRule>'
        "</ProxyEndpoint>"
    )
    target = ('<TargetEndpoint name="backup"><PreFlow><Request><Step><Name>SA</Name>'
              "<Condition>client_id != null</Condition></Step></Request></PreFlow></TargetEndpoint>")  # fmt: skip
    p = _by_name(read_estate(_proxy(tmp_path / "p", endpoint, target)))["SA"]
    # rule 1 picks it, or rule 3 when rules 1 and 2 did not match
    assert not parse_condition(p.conditions[0]).problem
    assert p.conditions == (
        '((request.header.x-backup = "1") or ((not (request.header.x-backup = "1")) and '
        '(not (request.verb = "GET")))) and (client_id != null)',
    )


def test_two_shared_flows_with_one_descriptor_name_are_both_read(tmp_path: Path) -> None:
    for folder, file in (("sf-a", "alpha"), ("sf-b", "beta")):
        flow = tmp_path / folder / "sharedflowbundle"
        (flow / "policies").mkdir(parents=True)
        (flow / "sharedflows").mkdir()
        (flow / f"{file}.xml").write_text('<SharedFlowBundle name="same-name"/>')
        (flow / "sharedflows" / "default.xml").write_text(
            "<SharedFlow name='default'><Step><Name>SA</Name></Step></SharedFlow>"
        )
        (flow / "policies" / "SA.xml").write_text(
            '<SpikeArrest name="SA"><Rate>5pm</Rate></SpikeArrest>'
        )
    (tmp_path / "flowhooks.json").write_text(
        json.dumps([{"flowHookPoint": "PreProxyFlowHook", "sharedFlow": "beta"}])
    )
    estate = read_estate(tmp_path)
    assert sorted(b.name for b in estate.bundles) == ["beta", "same-name"]
    assert any("found twice" in w and "read as beta" in w for w in estate.warnings())
    assert [(p.proxy, p.attachments[0].via) for p in estate.policies] == [
        ("beta", "flowhook:PreProxyFlowHook")
    ]


def test_an_unreadable_condition_is_unmodelled_not_assumed_true(tmp_path: Path) -> None:
    endpoint = ('<ProxyEndpoint name="default"><PreFlow><Request><Step><Name>SA</Name>'
                '<Condition>request.verb = "GET" and (</Condition></Step></Request></PreFlow></ProxyEndpoint>')  # fmt: skip
    estate = read_estate(_proxy(tmp_path / "p", endpoint))
    loose = [u for u in estate.unmodelled if u.policy is None]
    assert len(loose) == 1 and "cannot be read" in loose[0].reason
    assert loose[0].file == "proxies/default.xml"


@pytest.mark.parametrize(
    ("header", "attached", "expected"),
    [
        ('<Header name="Retry-After">30</Header>', True, 30.0),
        ('<Header name="retry-after">5</Header>', True, 5.0),
        ('<Header name="Retry-After">{ratelimit.SA.expiry}</Header>', True, None),
        ('<Header name="Retry-After">30</Header>', False, None),  # a policy no step runs
        ('<Header name="X-Other">30</Header>', True, None),
    ],
)
def test_a_retry_after_the_proxy_sets_on_refusals_is_read(
    tmp_path: Path, header: str, attached: bool, expected: float | None
) -> None:
    root = tmp_path / "estate"
    shutil.copytree(ESTATE, root)
    proxy = root / "payments" / "apiproxy"
    (proxy / "policies" / "AM-RetryAfter.xml").write_text(
        f'<AssignMessage name="AM-RetryAfter"><Set><Headers>{header}</Headers></Set>'
        '<AssignTo createNew="false" type="response"/></AssignMessage>'
    )
    if attached:
        endpoint = proxy / "proxies" / "default.xml"
        endpoint.write_text(endpoint.read_text().replace(
            "<Name>SA-Fault</Name>", "<Name>SA-Fault</Name>\n      </Step>\n      <Step>\n        <Name>AM-RetryAfter</Name>", 1
        ))  # fmt: skip
    info = {b.name: b for b in read_estate(root).bundles}["payments"]
    assert info.retry_after_s == expected
