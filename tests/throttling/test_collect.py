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

from copilot.commands._output import to_json
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import iter_chunks
from copilot.pipeline import with_columns
from copilot.throttling.collect import COLUMNS, EXTRA_COLUMNS, Collector, Requests
from copilot.throttling.run import suggest_paths
from tests.fanout.estates import atc_sample

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
