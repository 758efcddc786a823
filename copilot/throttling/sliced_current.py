"""Current limits from bundles replayed on a share too large to hold: their streams on disk.

A share above ``shares.SHARE_ROWS`` requests is read in time slices
(``copilot.throttling.shares``). Where a bundle limit runs is decided request by
request (``replay_current.runs_on``: its conditions over the request's flow
variables), so each slice says exactly which of its requests each limit runs on.
:class:`CurrentStreams` is fed the slices of one proxy's share in order and
writes, per replay unit (a limit, or an EnforceOnly quota with its CountOnly
partner: ``replay_estate``), the requests it replays -- collapsed retries
dropped, as ``Traffic.stream`` does -- to scratch disk (``copilot.spill``):
time, party, legitimate, healthy, the identity's code (``identity_keys``: codes
from the estate's labels, the same in every slice; -1, unidentified, is one
counter) and, for a pair, whether the enforcer and the counter run on it. It
counts per party the requests the unit runs on, those where that is unknown and
those with no identity value.

A context carrying them as ``current_streams`` is replayed from them by
``replay_current.replay_policy`` (so ``replay_estate.replay_proxy`` and
``suggest.current_replay`` work unchanged): the same entry the whole share
gives, the replay carried across pieces (``replay_carry.Replayer``,
``pair_carry.PairReplayer``) and its impact summed piece by piece
(``sliced.RejectionFold``). Memory follows a slice, a piece and the counters'
carried state, not the share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from copilot import spill
from copilot.analysis.outcomes import GATEWAY
from copilot.spill import SpillDir
from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.bundle_params import resolve
from copilot.throttling.context import Context, Placement
from copilot.throttling.demand import Demand
from copilot.throttling.evidence import Evidence
from copilot.throttling.evidence_slices import RETRY
from copilot.throttling.pair_carry import PairReplayer
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_carry import Replayer
from copilot.throttling.replay_current import identity_keys, runs_on, unit_placement
from copilot.throttling.replay_estate import _units
from copilot.throttling.replay_quota import QuotaSpec
from copilot.throttling.shares import SLICE_ROWS, Slice
from copilot.throttling.sizing import Impact
from copilot.throttling.sliced import Piece, RejectionFold

_BASE = (("ts", np.int64), ("party", np.int32), ("legit", np.bool_), ("healthy", np.bool_))
_KEY = (("key", np.int64),)  # the identity's code: keyed units only
_PAIR = (("enforced", np.bool_), ("counted", np.bool_))  # CountOnly + EnforceOnly units only
_BY_LABEL = ("available", "categories", "suffix")  # flow_columns' caches made from labels only


def slice_context(ev: Evidence, piece: Slice) -> Context:
    """The context :meth:`CurrentStreams.add` reads for one slice of a share: the full slice
    (attributes and statuses: conditions read them), its collapsed retries (the derived
    column ``retry``), the estate's health, abusive clients, bundles and span."""
    req = piece.req
    demand = Demand((req.outcome >> 1) == GATEWAY, piece.derived[RETRY].astype(bool), ev.demand)
    return Context(
        req, demand, ev.health, ev.abusive, ev.bad_party, ev.storms,
        knees=ev.knees, forecasts=ev.forecasts, current=ev.current, headroom=ev.headroom,
        estate=ev.estate, span=ev.source.span, admits=ev.admits,
    )  # fmt: skip


def _id(policy: CurrentPolicy) -> tuple[str, str]:
    return (policy.proxy, policy.name)  # as replay_current.placement caches it


@dataclass
class UnitStream:
    """One replay unit's requests on one proxy, on disk in time order, and its counts."""

    policy: CurrentPolicy
    counter: CurrentPolicy | None
    directory: SpillDir
    name: str
    rows: np.ndarray  # per party: requests the unit runs on
    unknown: np.ndarray  # per party: requests where that is unknown
    unidentified: np.ndarray  # per party: replayed requests with no identity value
    missing: set[str] = field(default_factory=set)
    no_key: str | None = None  # why the logs cannot key it (identity_keys)
    keyed: bool = False
    size: int = 0  # requests on disk

    @property
    def columns(self) -> tuple[tuple[str, type], ...]:
        return _BASE + (_KEY if self.keyed else ()) + (_PAIR if self.counter else ())

    def add(self, ctx: Context, proxy: int, where: dict[tuple[str, str], Placement]) -> None:
        """One slice (``where``: each policy's placement on it)."""
        party = ctx.req.party
        counted = None if self.counter is None else where[_id(self.counter)]
        rows, unsure, missing = unit_placement(where[_id(self.policy)], counted)
        self.rows += np.bincount(party[rows], minlength=self.rows.size)
        self.unknown += np.bincount(party[unsure], minlength=self.unknown.size)
        self.missing |= set(missing)
        if not self.policy.enabled:
            return  # it never runs: nothing replayed
        stream = ctx.stream(rows)
        keys, self.no_key = identity_keys(ctx, self.policy.identifier_kind, stream.rows)
        if self.no_key:
            return  # no numbers without the identity
        self.keyed = keys is not None
        cols = {"ts": ctx.req.ts[stream.rows], "party": party[stream.rows],
                "legit": stream.legit, "healthy": stream.healthy}  # fmt: skip
        if keys is not None:
            cols["key"] = keys
            unset = party[stream.rows][keys < 0]
            self.unidentified += np.bincount(unset, minlength=self.unidentified.size)
        if counted is not None:
            cols["enforced"] = np.isin(stream.rows, where[_id(self.policy)].rows)
            cols["counted"] = np.isin(stream.rows, counted.rows)
        for column, dtype in self.columns:
            spill.append(self.directory.file(f"{self.name}.{column}"), cols[column].astype(dtype))
        self.size += stream.rows.size

    def blocks(self, rows: int, party: int | None = None):
        """Consecutive blocks of ``rows`` requests (``party``'s only, when given), as
        column name -> values."""
        for start in range(0, self.size, max(rows, 1)):
            got = {
                c: spill.read(self.directory.file(f"{self.name}.{c}"), t, start, rows)
                for c, t in self.columns
            }
            if party is not None:
                mine = got["party"] == party
                got = {c: v[mine] for c, v in got.items()}
            yield got


class CurrentStreams:
    """The current limits' streams of one proxy's share, fed slice by slice (see the module
    docstring); a context carrying it as ``current_streams`` is replayed from it."""

    def __init__(
        self,
        directory: SpillDir,
        current: list[CurrentPolicy],
        proxy: int,
        proxy_name: str,
        parties: list[tuple[str, str]],
        piece_rows: int = SLICE_ROWS,
    ) -> None:
        """``parties``: the estate's (app, client id) labels; ``piece_rows``: requests read
        from disk at once when replaying."""
        self.directory, self.proxy, self.parties = directory, proxy, parties
        self.piece_rows = piece_rows
        self._by_label: dict[tuple, object] = {}  # flow_columns' label caches, kept
        here = [resolve(p, proxy_name) for p in current if p.runs_in(proxy_name)]
        self.policies = {_id(p): p for p in here}
        self.units: dict[tuple, UnitStream] = {}
        folded = set()
        for policy, counter in _units(here):
            self._unit(policy, counter)
            folded |= {_id(counter)} if counter is not None else set()
        for policy in here:  # each alone too: suggest.current_replay looks limits up singly
            if _id(policy) not in folded:
                self._unit(policy, None)

    def _unit(self, policy: CurrentPolicy, counter: CurrentPolicy | None) -> None:
        key = (_id(policy), None if counter is None else _id(counter))
        if key not in self.units:
            n = max(len(self.parties), 1)
            self.units[key] = UnitStream(
                policy, counter, self.directory, f"current.{self.proxy}.{len(self.units)}",
                np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64),
            )  # fmt: skip

    def add(self, ctx: Context) -> None:
        """The next slice of the share, in time order (:func:`slice_context`)."""
        # What flow_columns derives from the labels alone (the same in every slice: a
        # vocabulary's codes, a base path cut from each path) is made once, not per slice.
        cache = ctx.req._orders
        for key, value in self._by_label.items():
            cache.setdefault(key, value)
        where = {k: Placement(*runs_on(ctx, p, self.proxy)) for k, p in self.policies.items()}
        for unit in self.units.values():
            unit.add(ctx, self.proxy, where)
        self._by_label.update(
            (k, v) for k, v in cache.items() if isinstance(k, tuple) and k[0] in _BY_LABEL
        )

    def placed(
        self,
        policy: CurrentPolicy,
        proxy: int,
        party: int | None = None,
        counter: CurrentPolicy | None = None,
    ) -> SlicedPlaced:
        """The unit of ``policy`` (with ``counter``) as ``replay_current.Placed`` (of
        ``party``'s requests, when given)."""
        assert proxy == self.proxy, "streams of another proxy"
        unit = self.units[(_id(policy), None if counter is None else _id(counter))]
        return SlicedPlaced(unit, party, self.parties, self.piece_rows)

    @classmethod
    def of(cls, ev: Evidence, proxy: int, directory: SpillDir) -> CurrentStreams:
        """The streams of ``proxy``'s share under ``directory``, to be fed its slices."""
        source = ev.source
        return cls(directory, ev.current, proxy, source.proxies[proxy], source.parties)


class SlicedPlaced:
    """``replay_current.Placed`` over a :class:`UnitStream` (one party's rows, or all)."""

    def __init__(
        self, unit: UnitStream, party: int | None, labels: list[tuple[str, str]], rows: int
    ) -> None:
        self.unit, self.party, self.labels, self.piece_rows = unit, party, labels, rows
        pick = (lambda a: int(a.sum())) if party is None else (lambda a: int(a[party]))
        self.rows, self.unknown = pick(unit.rows), pick(unit.unknown)
        self.missing = sorted(unit.missing)
        self._unset = pick(unit.unidentified)

    def identity(self, kind: str) -> tuple[str | None, int]:
        return self.unit.no_key, self._unset

    def impact(self, spec: SpikeArrestSpec | QuotaSpec) -> Impact:
        feed = _replayer(self.unit, spec)
        fold, seen, counted = RejectionFold(max(len(self.labels), 1)), 0, 0
        for cols in self.unit.blocks(self.piece_rows, self.party):
            piece = Piece(cols["ts"], cols["party"], cols["legit"], cols["healthy"])
            fold.add(piece, feed(cols))
            seen, counted = seen + piece.size, counted + int(piece.counted.sum())
        return fold.result(seen, counted).impact(self.labels)


def _replayer(unit: UnitStream, spec: SpikeArrestSpec | QuotaSpec):
    """Columns of the unit's next block -> its rejected mask, the state carried."""
    if unit.counter is None:
        alone = Replayer(spec, unit.keyed)
        return lambda cols: alone.feed(cols["ts"], cols.get("key"), None)
    assert isinstance(spec, QuotaSpec), "a CountOnly + EnforceOnly unit is a Quota"
    pair = PairReplayer(spec, unit.keyed)
    return lambda cols: pair.feed(cols["ts"], cols.get("key"), cols["enforced"], cols["counted"])
