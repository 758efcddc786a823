"""Turn an analyzer's aggregates (``copilot.analysis.aggregates``) into an ``Analysis``.

Proxy, app and client outcome counts and latency histograms are the sums of
their consumers' (proxy x app x client id), got by re-keying the consumer cells
and adding equal cells. Proxy and app per-second counts were kept while
streaming; client ids usually pair one to one with apps, so their table is the
app table relabelled, and otherwise comes from re-keyed consumer seconds.

Per-second cells are streamed (``SparseCounts.blocks``: whole seconds per
block, so re-keying reduces inside a block); what the ``Analysis`` keeps is
per group or per minute, never per second, unless ``keep_seconds`` asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.analysis import anomalies, notes, rates, series
from copilot.analysis.aggregates import Aggregates, GroupAccumulator
from copilot.analysis.result import KEYS, Analysis, TopConsumer

Cells = tuple[np.ndarray, np.ndarray]


def _labels(values: list) -> pd.Categorical:
    """Labels by id, as a categorical (sorted categories) indexable by id."""
    strings = [str(v) for v in values]
    return pd.Categorical(strings, categories=sorted(set(strings)))


def _table(
    kind: str,
    labels: dict[str, pd.Categorical],
    n: int,
    seconds: Iterable[Cells],
    outcomes: tuple[np.ndarray, np.ndarray],
    total_ms: tuple[np.ndarray, np.ndarray],
    target_ms: tuple[np.ndarray, np.ndarray],
) -> pd.DataFrame:
    frame = pd.DataFrame({name: labels[name] for name in KEYS[kind]})
    parts = [
        frame,
        rates.outcome_table(*outcomes, n),
        rates.rate_table(seconds, n),
        rates.latency_table(*total_ms, n, "total_ms"),
        rates.latency_table(*target_ms, n, "target_ms"),
    ]
    table = pd.concat(parts, axis=1)
    for edge in ("first", "last"):
        seconds_col = table.pop(f"{edge}_s").astype("float64").to_numpy()
        table[edge] = pd.to_datetime(seconds_col * 1000, unit="ms", utc=True)
    table = table[table["requests"] > 0]
    order = ["requests", *KEYS[kind]]
    table = table.sort_values(order, ascending=[False] + [True] * len(KEYS[kind]), kind="stable")
    return _tidy(table, KEYS[kind])


def _tidy(frame: pd.DataFrame, keys: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Fresh index, and only the labels in use as categories (chunking-independent)."""
    frame = frame.reset_index(drop=True)
    for key in keys:
        frame[key] = frame[key].cat.remove_unused_categories()
    return frame


def _direct(acc: GroupAccumulator) -> dict:
    return {
        "seconds": acc.seconds.blocks(),
        "outcomes": acc.outcomes.result(),
        "total_ms": acc.total_ms.result(),
        "target_ms": acc.target_ms.result(),
    }


def _derived(seconds: Iterable[Cells], consumers: GroupAccumulator, lut: np.ndarray) -> dict:
    return {
        "seconds": seconds,
        "outcomes": consumers.outcomes.remap(lut),
        "total_ms": consumers.total_ms.remap(lut),
        "target_ms": consumers.target_ms.remap(lut),
    }


@dataclass(frozen=True)
class _Labels:
    """Every vocabulary as categoricals indexable by id, and the tuple vocabularies as arrays."""

    proxy: pd.Categorical
    app: pd.Categorical
    client: pd.Categorical
    verb: pd.Categorical
    template: pd.Categorical
    consumers: np.ndarray  # [n, 3]: proxy, app, client id of each consumer
    endpoints: np.ndarray  # [n, 3]: proxy, verb, template id of each endpoint

    @classmethod
    def of(cls, an: Aggregates) -> _Labels:
        v = an.vocabs
        return cls(
            *(_labels(x.labels) for x in (v.proxy, v.app, v.client, v.verb, v.template)),
            consumers=np.array(v.consumer.labels, dtype=np.int64).reshape(-1, 3),
            endpoints=np.array(v.endpoint.labels, dtype=np.int64).reshape(-1, 3),
        )

    def consumer_keys(self) -> dict[str, pd.Categorical]:
        c = self.consumers
        return {
            "proxy": self.proxy.take(c[:, 0]),
            "app": self.app.take(c[:, 1]),
            "client_id": self.client.take(c[:, 2]),
        }

    def endpoint_keys(self) -> dict[str, pd.Categorical]:
        e = self.endpoints
        return {
            "proxy": self.proxy.take(e[:, 0]),
            "verb": self.verb.take(e[:, 1]),
            "path": self.template.take(e[:, 2]),
        }


def _tables(an: Aggregates, labels: _Labels) -> dict[str, pd.DataFrame]:
    cons = labels.consumers
    proxies = _table(
        "proxies",
        {"proxy": labels.proxy},
        len(labels.proxy),
        **_derived(an.proxy_seconds.blocks(), an.consumers, cons[:, 0]),
    )
    apps = _table(
        "apps",
        {"app": labels.app},
        len(labels.app),
        **_derived(an.app_seconds.blocks(), an.consumers, cons[:, 1]),
    )
    consumers = _table("consumers", labels.consumer_keys(), len(cons), **_direct(an.consumers))
    endpoints = _table(
        "endpoints", labels.endpoint_keys(), len(labels.endpoints), **_direct(an.endpoints)
    )
    return {
        "proxies": proxies,
        "apps": apps,
        "clients": _clients(an, apps, labels),
        "consumers": consumers,
        "endpoints": endpoints,
    }


def _clients(an: Aggregates, apps: pd.DataFrame, labels: _Labels) -> pd.DataFrame:
    """The client id table: the app table relabelled when apps and client ids pair
    one to one (the usual case: then their rows are the same rows), else re-keyed."""
    cons = labels.consumers
    pairs = np.unique(cons[:, 1:], axis=0)
    one_to_one = np.unique(pairs[:, 0]).size == len(pairs) == np.unique(pairs[:, 1]).size
    if not one_to_one:
        seconds = an.consumers.seconds.remap_blocks(cons[:, 2])
        return _table(
            "clients",
            {"client_id": labels.client},
            len(labels.client),
            **_derived(seconds, an.consumers, cons[:, 2]),
        )
    app_names = np.asarray(labels.app)[pairs[:, 0]]
    client_of_app = dict(zip(app_names, np.asarray(labels.client)[pairs[:, 1]], strict=True))
    table = apps.rename(columns={"app": "client_id"})
    names = [client_of_app[str(a)] for a in apps["app"]]
    table["client_id"] = pd.Categorical(names, categories=labels.client.categories)
    table = table.sort_values(["requests", "client_id"], ascending=[False, True], kind="stable")
    return _tidy(table, ["client_id"])


def _minutes(an: Aggregates, labels: _Labels) -> tuple[pd.DataFrame, pd.DataFrame]:
    per_proxy = series.sparse_minutes(an.consumer_minutes.remap_blocks(labels.consumers[:, 0]))
    dense = series.dense_minutes(per_proxy)
    latency = series.minute_latency(an.proxy_latency.blocks())
    dense = dense.merge(latency, on=["group", "minute"], how="left") if len(dense) else dense
    proxy_minutes = series.label_minutes(dense, {"proxy": labels.proxy})
    per_consumer = series.sparse_minutes(an.consumer_minutes.blocks())
    app_minutes = series.label_minutes(per_consumer, labels.consumer_keys())
    return (
        _sort_minutes(proxy_minutes, ["proxy"]),
        _sort_minutes(app_minutes, ["proxy", "app", "client_id"]),
    )


def _seconds(an: Aggregates, labels: _Labels) -> tuple[pd.DataFrame, pd.DataFrame]:
    proxies = series.second_counts(*an.proxy_seconds.result(), {"proxy": labels.proxy})
    consumers = series.second_counts(*an.consumers.seconds.result(), labels.consumer_keys())
    return (
        _tidy(proxies.sort_values(["proxy", "second"], kind="stable"), ["proxy"]),
        _tidy(
            consumers.sort_values(["proxy", "app", "client_id", "second"], kind="stable"),
            ["proxy", "app", "client_id"],
        ),
    )


def _sort_minutes(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    # Categories are sorted labels, so this order does not depend on chunking.
    return _tidy(frame.sort_values([*keys, "minute"], kind="stable"), keys)


def _top_consumers(tables: dict[str, pd.DataFrame], records: int, n: int) -> list[TopConsumer]:
    apps, consumers = tables["apps"], tables["consumers"]
    out = []
    for row in apps.head(n).to_dict("records"):
        mine = consumers[consumers["app"].astype(str) == str(row["app"])]
        out.append(
            TopConsumer(
                app=str(row["app"]),
                client_ids=tuple(sorted(set(mine["client_id"].astype(str)))),
                proxies=tuple(sorted(set(mine["proxy"].astype(str)))),
                requests=int(row["requests"]),
                share=row["requests"] / records if records else 0.0,
                error_rate=float(row["error_rate"]),
                rate_5xx=float(row["rate_5xx"]),
                gateway_429=int(row["gateway_429"]),
                peak_rps=float(row["rps_max"]),
                peak_rpm=float(row["rpm_max"]),
                rps_p99=float(row["rps_p99"]),
            )
        )
    return out


def _stamp(ms: int | None) -> pd.Timestamp | None:
    return None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC")


def build_analysis(an: Aggregates) -> Analysis:
    """The ``Analysis`` of everything added to ``an`` so far."""
    labels = _Labels.of(an)
    tables = _tables(an, labels)
    proxy_minutes, app_minutes = _minutes(an, labels)
    found, seasonality = [], "none"
    if an.detect_anomalies and not proxy_minutes.empty:
        found, seasonality = anomalies.detect(proxy_minutes, app_minutes)
    seconds = _seconds(an, labels) if an.keep_seconds else (None, None)
    classes = notes.status_classes(an.outcome_totals)
    return Analysis(
        proxy_seconds=seconds[0],
        consumer_seconds=seconds[1],
        records=an.records,
        skipped=an.skipped,
        start=_stamp(an.first_ms),
        end=_stamp(an.last_ms),
        tables=tables,
        proxy_minutes=proxy_minutes,
        app_minutes=app_minutes,
        anomalies=found,
        top_consumers=_top_consumers(tables, an.records, an.top_n),
        seasonality=seasonality,
        endpoint_overflow=an.vocabs.template.overflowed > 0,
        status_classes=classes,
        notes=notes.accounting_notes(classes, an.unlogged, an.records),
        unavailable=notes.unavailable(an.unlogged, an.records),
    )
