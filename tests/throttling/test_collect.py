"""The collector's requests do not depend on how the rows were chunked.

Vocabularies grow in first-seen order chunk by chunk (each chunk's categories
in their own order), so raw ids depend on where chunks end: the tests first
show that they do on a real ``atc sample`` estate, then that ``finish`` gives
the same arrays and labels however the same rows are chunked, and that
``atc suggest --json`` is the same when the CSV reader's chunks are small.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from copilot.analysis.ids import Vocab, category_ids
from copilot.commands._output import to_json
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import iter_chunks
from copilot.logs.sample import iter_chunks as sample_chunks
from copilot.logs.sample import make_scenario
from copilot.logs.writers import write_records
from copilot.pipeline import read_pass, with_columns
from copilot.throttling import collect, shares
from copilot.throttling.bundle import read_estate
from copilot.throttling.collect import (
    COLUMNS,
    EXTRA_COLUMNS,
    HASHED,
    Collector,
    Requests,
    attr_spec,
    hash_values,
)
from copilot.throttling.demand import measure
from copilot.throttling.evidence import gather
from copilot.throttling.retries import _same_request, find_retry_storms
from copilot.throttling.run import build_report, collected_attrs, suggest_paths
from copilot.throttling.spilled import InMemory
from tests.fanout.estates import atc_sample
from tests.paths import FIXTURES, SAMPLE_LOG
from tests.throttling.conftest import chunk_frame

ATTRS = ("verb", "path", "basepath", "pathsuffix", "client_ip", "api_product")


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("collect") / "two-days.csv"
    atc_sample(path, "--days", "2", "--seed", "3", "--rows", "20000")
    options = with_columns(None, EXTRA_COLUMNS)
    frames = list(iter_chunks([path], Quarantine(), options))
    rows = pd.concat(frames, ignore_index=True)  # categories differ: labels become objects
    assert set(COLUMNS) <= set(rows.columns)
    return path, rows


def _chunks(rows: pd.DataFrame, bounds: list[int]) -> list[pd.DataFrame]:
    """The rows cut at ``bounds``, each piece with its own categories (as readers give them)."""
    edges = [0, *bounds, len(rows)]
    labels = [c for c in rows.columns if rows[c].dtype == object]
    return [
        rows.iloc[a:b].reset_index(drop=True).astype({c: "category" for c in labels})
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


def _collect(chunks: list[pd.DataFrame]) -> tuple[Collector, Requests]:
    collector = Collector(ATTRS)
    for chunk in chunks:
        collector.add(chunk)
    return collector, collector.finish()


def _same(a: Requests, b: Requests) -> None:
    for name in ("ts", "proxy", "party", "outcome", "policy", "target_ms", "status"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.proxies, a.parties, a.policies) == (b.proxies, b.parties, b.policies)
    assert a.fault_codes == b.fault_codes
    assert list(a.attrs) == list(b.attrs)
    for name, (ids, labels) in a.attrs.items():
        np.testing.assert_array_equal(ids, b.attrs[name][0], err_msg=name)
        assert labels == b.attrs[name][1]


CHUNKINGS = {
    "one chunk": lambda n: [],
    "halves": lambda n: [n // 2],
    "997 rows": lambda n: list(range(997, n, 997)),
    "uneven": lambda n: [13, 700, n // 3, n // 3 + 1, n - 5],
}


def test_raw_ids_depend_on_the_chunking(estate) -> None:
    _path, rows = estate
    whole, _ = _collect(_chunks(rows, []))
    small, _ = _collect(_chunks(rows, CHUNKINGS["997 rows"](len(rows))))
    raw = [(whole._party.labels, small._party.labels)]
    raw.append((whole._attrs["path"].labels, small._attrs["path"].labels))
    assert any(a != b for a, b in raw)  # what finish must undo


@pytest.mark.parametrize("name", [k for k in CHUNKINGS if k != "one chunk"])
def test_finish_is_the_same_however_the_rows_are_chunked(estate, name: str) -> None:
    _path, rows = estate
    _, expected = _collect(_chunks(rows, []))
    _, got = _collect(_chunks(rows, CHUNKINGS[name](len(rows))))
    assert got.size == len(rows)
    _same(got, expected)


def test_labels_are_the_used_ones_in_sorted_order(estate) -> None:
    _path, rows = estate
    _, req = _collect(_chunks(rows, [5000]))
    assert req.proxies == sorted(set(rows["proxy"]))
    assert req.parties == sorted(req.parties) and req.policies[0] == ""
    assert len(set(req.party.tolist())) == len(req.parties)  # no label without a request
    assert bool((req.ts[1:] >= req.ts[:-1]).all())


def test_suggest_json_is_the_same_with_small_chunks(
    estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _rows = estate
    expected = to_json(suggest_paths([path]).to_dict())
    monkeypatch.setattr("copilot.logs.analytics.CHUNK_ROWS", 1)  # one chunk per Arrow block

    chunks = []
    original = Collector.add
    monkeypatch.setattr(
        Collector, "add", lambda self, c: (chunks.append(len(c)), original(self, c))
    )
    got = to_json(suggest_paths([path]).to_dict())
    assert len(chunks) > 1  # the file really was read in several chunks
    assert json.loads(got) == json.loads(expected) and got == expected


# --- the path kept as a hash per request (collect.HASHED) ----------------------------

HASHED_ATTRS = ("verb", "path" + HASHED)


@pytest.fixture(scope="module")
def sample_both():
    """The bundled sample collected with labelled paths and with hashed paths."""
    labelled, hashed = Collector(("verb", "path")), Collector(HASHED_ATTRS)
    run = read_pass([SAMPLE_LOG], consumers=[labelled, hashed])
    return run.analysis, labelled.finish(), hashed.finish()


def test_collected_attrs_hash_the_path_unless_a_condition_reads_it() -> None:
    assert collected_attrs() == ("verb", "path:hash")
    assert attr_spec(collected_attrs()) == (("verb", "path"), frozenset({"path"}))
    reads_path = collected_attrs(read_estate([FIXTURES / "bundles" / "estate"]))
    assert "path" in reads_path and attr_spec(reads_path)[1] == frozenset()
    assert attr_spec(("path", "path:hash")) == (("path",), frozenset())  # labels win


def test_hashed_paths_are_equal_iff_the_paths_are_on_the_sample(sample_both) -> None:
    _analysis, labelled, hashed = sample_both
    ids, labels = labelled.attrs["path"]
    hashes, none = hashed.attrs["path"]
    assert none == [] and hashes.dtype == np.int64 and hashes.size == ids.size == labelled.size
    assert len(labels) > 10_000  # many distinct paths
    pairs = np.unique(np.stack([ids.astype(np.int64), hashes]), axis=1)
    assert pairs.shape[1] == np.unique(ids).size == np.unique(hashes).size  # a bijection
    # every other column, the verb's labels included, is the labelled collector's
    for name in ("ts", "proxy", "party", "outcome", "policy", "target_ms", "status"):
        np.testing.assert_array_equal(getattr(hashed, name), getattr(labelled, name), name)
    np.testing.assert_array_equal(hashed.attrs["verb"][0], labelled.attrs["verb"][0])
    assert hashed.attrs["verb"][1] == labelled.attrs["verb"][1]


def test_a_missing_or_absent_path_hashes_as_the_empty_one() -> None:
    frame = pd.DataFrame({"path": ["/a", None, "", "/a", np.nan]})
    got = hash_values(frame["path"])
    assert got[1] == got[2] == got[4] != got[0] == got[3]
    assert got[0] == hash_values(pd.Series(["/a"], dtype="category"))[0]  # categorical too
    ids = category_ids(frame["path"], Vocab(), missing="")  # as the labelled ids read them
    assert (np.equal.outer(got, got) == np.equal.outer(ids, ids)).all()
    without = chunk_frame([(1_000, "p", "a", "k", "", "/a")]).drop(columns=["path"])
    collector = Collector(HASHED_ATTRS)
    collector.add(without)  # a log format that carries no path
    assert collector.finish().attrs["path"][0].tolist() == [got[2]]


def _storm_rows(start: int) -> list[tuple]:
    """A client retrying its 429s at once on the same path ('retrier'), one asking for the
    next page after each ('pager'): (ms, proxy, app, client, policy, path) rows."""
    rows = []
    for app, same in (("retrier", True), ("pager", False)):
        for i in range(300):
            t = start + i * 10_000 + (7 if same else 0)
            refused = i % 5 == 0
            who = ("catalog", app, f"key-{app}")
            rows.append((t, *who, "SA-Storm" if refused else "", f"/{app}/{i}"))
            for k in (1, 2) if refused else ():  # refused again, then admitted
                path = f"/{app}/{i}" if same else f"/{app}/{i}/page{k}"
                rows.append((t + 150 * k, *who, "SA-Storm" if k == 1 else "", path))
    return rows


@pytest.fixture(scope="module")
def stormy_both(tmp_path_factory: pytest.TempPathFactory):
    """A generated estate with two retrying clients, collected with labelled and with hashed
    paths (the clients' rows reach the collectors only: the analysis is the estate's)."""
    path = tmp_path_factory.mktemp("hashed") / "estate.csv"
    write_records(sample_chunks(make_scenario(days=2, seed=7, rows=10_000)), path)
    labelled, hashed = Collector(("verb", "path")), Collector(HASHED_ATTRS)
    run = read_pass([path], consumers=[labelled, hashed])
    start = int(run.analysis.start.timestamp() * 1000) + 60_000
    frame = chunk_frame(_storm_rows(start))
    labelled.add(frame)
    hashed.add(frame)
    return run.analysis, labelled.finish(), hashed.finish()


@pytest.mark.parametrize("rows", [None, 7, 500], ids=["whole", "slices of 7", "slices of 500"])
def test_retries_are_found_the_same_with_hashed_and_labelled_paths(
    stormy_both, rows: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysis, labelled, hashed = stormy_both
    if rows is not None:  # every share read in time slices (evidence_slices)
        monkeypatch.setattr(shares, "SHARE_ROWS", 0)
        monkeypatch.setattr(shares, "SLICE_ROWS", rows)
    want, got = (gather(analysis, InMemory(r), 0.2, [], None) for r in (labelled, hashed))
    assert got.storms == want.storms and {s.app for s in want.storms} >= {"retrier"}
    assert "pager" not in {s.app for s in want.storms}  # new pages are not the same request
    pd.testing.assert_frame_equal(got.demand, want.demand)
    for proxy, party in labelled.pairs():
        pair = labelled.rows_of_pair(proxy, party)
        np.testing.assert_array_equal(_same_request(hashed, pair), _same_request(labelled, pair))


def test_the_sample_advice_is_the_same_with_hashed_and_labelled_paths(sample_both) -> None:
    analysis, labelled, hashed = sample_both
    first, second = (to_json(build_report(analysis, r).to_dict()) for r in (labelled, hashed))
    assert first == second


def test_past_the_vocabulary_limit_hashed_paths_still_tell_paths_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(collect, "VOCAB_LIMIT", 5)
    rows = _storm_rows(1_700_000_000_000)  # the pager's next pages: 60 x 2 new paths
    labelled, hashed = Collector(("verb", "path")), Collector(HASHED_ATTRS)
    for chunk in (chunk_frame(rows[:100]), chunk_frame(rows[100:])):
        labelled.add(chunk)
        hashed.add(chunk)
    a, b = labelled.finish(), hashed.finish()
    distinct = len({r[5] for r in rows})
    assert "{other}" in a.attrs["path"][1] and len(a.attrs["path"][1]) <= 6  # merged
    assert np.unique(b.attrs["path"][0]).size == distinct  # each path its own hash
    pager = a.rows_of_pair(0, a.parties.index(("pager", "key-pager")))
    assert _same_request(a, pager).sum() > 100  # different pages read as the same request
    assert not _same_request(b, pager).any()  # ...and are not
    retrier = a.rows_of_pair(0, a.parties.index(("retrier", "key-retrier")))
    assert _same_request(b, retrier).sum() == 120  # each refused request's two repeats
    merged, apart = ({s.app for s in find_retry_storms(r, measure(r))} for r in (a, b))
    assert merged == {"retrier", "pager"}  # the pager taken for a client retrying
    assert apart == {"retrier"}
