"""A proxy advised from its share in time slices gives the report its whole share gives.

``shares.SHARE_ROWS`` decides which proxies are read in slices; setting it to 0
slices every proxy, and ``shares.SLICE_ROWS`` sets where the cuts fall (inside
bursts, incidents and quota windows for small values). The reports are compared
as the JSON ``atc suggest --json`` prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.logs.sample import iter_chunks
from copilot.logs.writers import write_records
from copilot.throttling import shares
from copilot.throttling.run import suggest_paths
from tests.paths import FIXTURES
from tests.paths import SAMPLE_LOG as SAMPLE
from tests.throttling.conftest import knee_scenario


def _report(paths: list[Path], **kw) -> str:
    """The JSON report, and the series only the dashboard reads (per-minute traffic and
    rejections)."""
    run = suggest_paths(paths, **kw)
    body = run.to_dict()
    body["traffic"] = {k: _series(v) for k, v in sorted(run.report.traffic.items())}
    body["rejected_per_minute"] = [
        _series(s.replay.per_minute) for s in run.report.suggestions if s.replay is not None
    ]
    return json.dumps(body, sort_keys=True, default=str)


def _series(series) -> list:
    return [(str(k), int(v)) for k, v in series.items()]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three generated days with a knee below legitimate peaks (capacity findings too)."""
    path = tmp_path_factory.mktemp("sliced") / "estate.csv"
    write_records(iter_chunks(knee_scenario(0.6, days=3, seed=13, rows=60_000)), path)
    return path


@pytest.fixture(scope="module")
def sample_whole() -> str:
    return _report([SAMPLE])


@pytest.mark.parametrize("slice_rows", [997, 20_000])
def test_every_proxy_sliced_gives_the_whole_share_report_on_the_sample(
    sample_whole: str, slice_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shares, "SHARE_ROWS", 0)
    monkeypatch.setattr(shares, "SLICE_ROWS", slice_rows)
    assert _report([SAMPLE]) == sample_whole


def test_only_large_shares_are_sliced_and_the_report_is_the_same(
    sample_whole: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copilot.throttling import run as run_module

    sliced: list[int] = []
    real = run_module.sliced_context

    def spy(ev, proxy, directory):
        sliced.append(proxy)
        return real(ev, proxy, directory)

    monkeypatch.setattr(run_module, "sliced_context", spy)
    monkeypatch.setattr(shares, "SHARE_ROWS", 30_000)
    monkeypatch.setattr(shares, "SLICE_ROWS", 4_096)
    assert _report([SAMPLE]) == sample_whole
    proxies = len(json.loads(sample_whole)["traffic"])
    assert 0 < len(sliced) < proxies  # the large shares sliced, the others whole


def test_sliced_estate_with_a_knee_below_peaks_gives_the_same_report(
    estate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _report([estate])
    assert '"capacity"' in whole  # the knee binds: the capacity replay is exercised too
    monkeypatch.setattr(shares, "SHARE_ROWS", 0)
    monkeypatch.setattr(shares, "SLICE_ROWS", 1_500)
    assert _report([estate]) == whole


@pytest.mark.parametrize(
    ("bundles", "teeth"),
    [
        ("bundles/shopco", '"current_replays": [{'),  # limits replayed
        ("bundles/estate", '"current_replays": [{'),
        ("real/bundles", '"warnings": ["'),  # none runs on the sample's proxies: refusers named
    ],
    ids=["shopco", "estate", "real"],
)
def test_with_bundles_every_proxy_sliced_gives_the_whole_share_report(
    bundles: str, teeth: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The current limits' replays too: where they run is decided per request, and their
    counters (one per identity, CountOnly/EnforceOnly pairs) carried across slices."""
    given = [FIXTURES / bundles]
    whole = _report([SAMPLE], bundles=given)
    assert teeth in whole  # so the comparison has something to compare
    monkeypatch.setattr(shares, "SHARE_ROWS", 0)
    monkeypatch.setattr(shares, "SLICE_ROWS", 4_999)
    assert _report([SAMPLE], bundles=given) == whole
