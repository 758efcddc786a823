"""Current limits replayed from a share's time slices give the entries the whole share gives.

Every share of the bundled sample is read in slices (``shares.SHARE_ROWS`` = 0 makes
the evidence write the collapsed retries beside it); each slice feeds
:class:`CurrentStreams`, and a context carrying them is replayed through the real
``replay_estate.replay_proxy`` / ``suggest.current_replay`` / ``replay_policy``. The
entries (per proxy, per unit, per party) and the replays' impacts (clients, hours,
minutes) must equal the whole share's for slices of 500 and 5,000 requests (and 7
for one proxy), the streams read back 333 requests at a time. The limits: the
shopco bundle, the estate fixture (conditions on verb, path, status and unknown
variables, a CountOnly + EnforceOnly pair keyed by client id, identities the logs
lack, a flow hook) and the corpus of real public bundles, their proxies given the
sample's traffic under their names (rolling-window and flexi pairs, per-IP and
per-key limits, conditions on unknown query parameters). The collector's shares
spilled to disk too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from copilot.pipeline import read_pass
from copilot.spill import SpillDir
from copilot.throttling import current as cur
from copilot.throttling import shares
from copilot.throttling.bundle import read_estate
from copilot.throttling.collect import ATTRS, EXTRA_COLUMNS, Collector
from copilot.throttling.current_spec import replay_spec
from copilot.throttling.evidence import Evidence, gather
from copilot.throttling.replay_current import _WholeShare, replay_policy
from copilot.throttling.replay_estate import replay_proxy
from copilot.throttling.sliced_context import sliced_context
from copilot.throttling.spilled import InMemory, SpilledRequests
from copilot.throttling.suggest import current_replay
from tests.paths import FIXTURES, SAMPLE_LOG

Source = InMemory | SpilledRequests
READ_ROWS = 333  # the streams read back in pieces of this many requests
# The sample's proxies under the names of real bundles' proxies (the corpus runs in none)
REAL_NAMES = {
    "catalog": "product-recommendations-v1",  # flexi per client id, path suffix condition
    "orders": "llm-circuit-breaking-v1",  # rolling-window pair, a counter on error status
    "customers": "apigee-api-proxy-template",  # calendar quota on path suffix and verb, 30ps
    "payments": "test6",  # rolling-window pair
    "notifications": "perf",  # per-IP, custom identity, unknown query parameter conditions
    "fulfilment": "spike-arrest",  # per API key, weighted by a header: no numbers
}


def _gathered(logs: Path, bundles: Path, spill: SpillDir | None = None) -> tuple[Evidence, Source]:
    """The evidence with every share read in slices: the derived retries are written
    (the requests spilled to ``spill`` by proxy when given, else in memory)."""
    estate = read_estate([bundles])
    collector = Collector(ATTRS, spill=spill)
    run = read_pass([logs], consumers=[collector], extra_columns=list(EXTRA_COLUMNS))
    source = InMemory(collector.finish()) if spill is None else collector.finish_source()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shares, "SHARE_ROWS", 0)
        patch.setattr(shares, "SLICE_ROWS", 5_000)
        ev = gather(run.analysis, source, 0.2, list(estate.policies), estate)
    return ev, source


def _sliced(ev: Evidence, source: Source, proxy: int, rows: int, scratch: SpillDir):
    """The suggestions' context of ``proxy`` with its current limits' streams, its share
    read in slices of ``rows``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shares, "SLICE_ROWS", rows)
        ctx = sliced_context(ev, proxy, scratch)
    streams = ctx.current_streams
    assert streams is not None
    streams.piece_rows = READ_ROWS
    return ctx, streams


def _impact(impact) -> tuple:
    series = [(str(k), int(v)) for k, v in impact.per_minute.items()]
    return impact.to_dict(), series


def _assert_same_replays(ev: Evidence, source: Source, proxy: int, rows: int) -> int:
    """Every unit's entry (all requests and each party's), its impact, the current limits'
    replays per party, and the proxy's entries and warnings; returns the units replayed."""
    whole = ev.context(proxy)
    name = source.proxies[proxy]
    with SpillDir() as scratch:
        ctx, streams = _sliced(ev, source, proxy, rows, scratch)
        assert replay_proxy(ctx, proxy) == replay_proxy(whole, proxy)
        parties = [None, *whole.parties_on(proxy)]
        replayed = 0
        for unit in streams.units.values():
            policy, counter = unit.policy, unit.counter
            for party in parties:
                want = replay_policy(whole, policy, proxy, party, counter)
                assert replay_policy(ctx, policy, proxy, party, counter) == want, (name, party)
                replayed += want["rejected"] is not None
            spec, _ = replay_spec(whole, policy, [])
            placed = _WholeShare(whole, policy, proxy, None, counter)
            if spec is None or not policy.enabled or placed.identity(policy.identifier_kind)[0]:
                continue
            got = streams.placed(policy, proxy, None, counter)
            assert _impact(got.impact(spec)) == _impact(placed.impact(spec)), (name, unit.name)
        for party in parties[1:]:
            for kind in ("SpikeArrest", "Quota"):
                now = cur.for_client(whole, name, party, kind)
                assert cur.for_client(ctx, name, party, kind) == now
                assert current_replay(ctx, now, proxy, party) == current_replay(
                    whole, now, proxy, party
                )
        for pick in (cur.for_proxy, cur.for_every_client):
            now = pick(whole, name)
            assert current_replay(ctx, now, proxy) == current_replay(whole, now, proxy)
    return replayed


def _rewritten(tmp: Path, name: str, change) -> Path:
    frame = pd.read_csv(SAMPLE_LOG, dtype=str, keep_default_na=False)
    change(frame)
    path = tmp / name
    frame.to_csv(path, index=False)
    return path


def _real_names(frame: pd.DataFrame) -> None:
    frame["apiproxy"] = frame["apiproxy"].map(lambda p: REAL_NAMES.get(p, p))


def _charges(frame: pd.DataFrame) -> None:
    """The estate's payments POSTs sent to /charges/{n}: where its quota pair runs."""
    post = (frame["apiproxy"] == "payments") & (frame["request_verb"] == "POST")
    suffix = "/charges/" + (frame.index.to_series() % 5).astype(str)
    frame.loc[post, "proxy_pathsuffix"] = suffix[post]
    frame.loc[post, "request_path"] = "/v1/payments" + suffix[post]
    frame.loc[post, "request_uri"] = frame.loc[post, "request_path"]


def _tight_estate(root: Path) -> Path:
    """The estate fixture with its pair's daily allowance low enough to refuse."""
    shutil.copytree(FIXTURES / "bundles" / "estate", root / "estate")
    for name in ("Q-Count", "Q-Enforce"):
        xml = root / "estate" / "payments" / "apiproxy" / "policies" / f"{name}.xml"
        text = xml.read_text(encoding="utf-8")
        assert '<Allow count="1000"/>' in text
        xml.write_text(text.replace('<Allow count="1000"/>', '<Allow count="60"/>'), "utf-8")
    return root / "estate"


CASES = ("estate", "real", "shopco")
SMALL = {"shopco": "orders", "estate": "payments", "real": "test6"}  # sliced by 7 too


@pytest.fixture(scope="module", params=CASES)
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp(request.param)
    logs, bundles = {
        "shopco": lambda: (SAMPLE_LOG, FIXTURES / "bundles" / "shopco"),
        "estate": lambda: (_rewritten(tmp, "charges.csv", _charges), _tight_estate(tmp)),
        "real": lambda: (_rewritten(tmp, "renamed.csv", _real_names), FIXTURES / "real" / "bundles"),
    }[request.param]()  # fmt: skip
    ev, source = _gathered(logs, bundles)
    return request.param, ev, source, source.proxies.index(SMALL[request.param])


@pytest.mark.parametrize("rows", [500, 5_000])
def test_every_proxy_s_current_limits_sliced_replay_as_the_whole_share(case, rows: int) -> None:
    label, ev, source, _ = case
    replayed = [_assert_same_replays(ev, source, p, rows) for p in ev.active]
    assert sum(replayed) > 0, f"{label}: no unit gave numbers"


def test_slices_of_seven_requests_replay_as_the_whole_share(case) -> None:
    _, ev, source, small = case
    assert _assert_same_replays(ev, source, small, 7) > 0


def test_the_units_cover_pairs_keys_unknown_conditions_and_missing_identities(case) -> None:
    """The cases are worth comparing: what each bundle set exercises on the sample."""
    label, ev, source, _ = case
    seen = set()
    with SpillDir() as scratch:
        for p in ev.active:
            _, streams = _sliced(ev, source, p, 5_000, scratch)
            for u in streams.units.values():
                seen |= {"pair"} if u.counter is not None and u.size else set()
                seen |= {"keyed"} if u.keyed and u.size else set()
                seen |= {"unknown"} if u.unknown.any() else set()
                seen |= {"no key"} if u.no_key else set()
                seen |= {"unidentified"} if u.unidentified.any() else set()
            for entry in replay_proxy(ev.context(p), p)[0]:
                if entry["rejected"] or entry["would_trip"]:
                    seen.add("pair refuses" if " + " in entry["policy"] else "one refuses")
    expected = {
        "shopco": {"keyed", "one refuses"},
        "estate": {"pair", "keyed", "unknown", "no key", "pair refuses", "one refuses"},
        "real": {"pair", "keyed", "unknown", "no key", "one refuses"},
    }[label]
    assert expected <= seen, f"{label}: {seen}"


def test_spilled_shares_replay_their_current_limits_sliced_as_whole(tmp_path: Path) -> None:
    """The collector's shares on disk: slices read a block at a time, labels the estate's."""
    logs = _rewritten(tmp_path, "charges.csv", _charges)
    with SpillDir() as spill:
        ev, source = _gathered(logs, _tight_estate(tmp_path), spill)
        assert isinstance(source, SpilledRequests)
        assert sum(_assert_same_replays(ev, source, p, 700) for p in ev.active) > 0
