"""Per-app suggestions: policy names stay unique and stable when one app has several client ids."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from copilot.throttling.run import suggest_paths
from copilot.throttling.suggest_apps import app_policy_names
from tests.throttling.test_replay_current import traffic, write_logs


def _apps(*pairs: tuple[str, str]) -> list:
    return [SimpleNamespace(party=i, app=a, client_id=c) for i, (a, c) in enumerate(pairs)]


def test_an_app_with_one_client_id_keeps_its_plain_name() -> None:
    assert app_policy_names("SA-App", _apps(("web", "k1"), ("pos", "k2"))) == {
        0: "SA-App-web",
        1: "SA-App-pos",
    }


def test_an_app_with_several_client_ids_gets_one_name_per_client_id_stable_across_runs() -> None:
    apps = _apps(("web", "k1"), ("web", "k2"), ("pos", "k3"))
    names = app_policy_names("SA-App", apps)
    assert len({n.lower() for n in names.values()}) == 3
    assert names[2] == "SA-App-pos"
    assert names[0].startswith("SA-App-web-") and names[1].startswith("SA-App-web-")
    assert app_policy_names("SA-App", list(reversed(apps))) == names  # order does not matter


def test_names_equal_but_for_case_do_not_share_a_file() -> None:
    names = app_policy_names("Q-App", _apps(("Web", "k1"), ("web", "k2")))
    assert names[0].lower() != names[1].lower()


def test_suggest_writes_a_bundle_when_an_app_has_two_client_ids(tmp_path: Path) -> None:
    rows = traffic(minutes=20, apps=("web", "pos"))
    web_rows = [r for r in rows if r["developer_app"] == "web"]
    for r in web_rows[::2]:
        r["client_id"] = "key-web-2"  # the same app, a second credential
    report = suggest_paths([write_logs(tmp_path / "logs.csv", rows)]).report
    files = report.bundles["payments"]
    web = [s for s in report.suggestions if s.app == "web"]
    assert len(web) == 4  # a SpikeArrest and a Quota per client id
    assert len({s.policy_name for s in web}) == 4
    assert all(f"policies/{s.policy_name}.xml" in files for s in web)
