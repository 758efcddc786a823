"""One canonical chunk reduced to the integer arrays the accumulators count.

Everything per row is vectorised: timestamps become unix seconds and minutes,
categorical columns become global ids through each chunk's category list,
paths are templated once per distinct path of the chunk, latencies become
sketch buckets and statuses become outcome codes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from copilot.analysis import sketch
from copilot.analysis.endpoints import common_ids, template_paths
from copilot.analysis.ids import Vocab, category_ids, tuple_ids
from copilot.analysis.outcomes import outcome_codes
from copilot.errors import InputError

UNKNOWN_VERB = "(unknown)"  # the verb label of a request whose log has a path but no verb
MAX_TEMPLATES = 20_000  # beyond this, new path templates share "{other}"
# The canonical columns the analysis reads (copilot.logs.schema); others are ignored.
COLUMNS_USED = (
    "ts",
    "proxy",
    "app",
    "client_id",
    "verb",
    "path",
    "status",
    "target_status",
    "total_ms",
    "target_ms",
    "fault_policy",
    "fault_code",
)


class Vocabs:
    """The global label vocabularies shared by all chunks of one analysis."""

    def __init__(self) -> None:
        self.proxy = Vocab()
        self.app = Vocab()
        self.client = Vocab()
        self.verb = Vocab()
        self.template = Vocab(limit=MAX_TEMPLATES)
        self.consumer = Vocab()  # (proxy id, app id, client id)
        self.endpoint = Vocab()  # (proxy id, verb id, template id)


@dataclass(frozen=True)
class ChunkView:
    """Per-row integer arrays of one chunk (all the same length)."""

    ts_ms: np.ndarray  # int64 epoch ms
    second: np.ndarray  # int64 unix second
    minute: np.ndarray  # int64 unix minute
    outcome: np.ndarray  # int64 outcome code 0..7
    total_bucket: np.ndarray  # int32 fine sketch bucket of total_ms
    target_bucket: np.ndarray  # int32 fine sketch bucket of target_ms
    proxy: np.ndarray
    app: np.ndarray
    client: np.ndarray
    consumer: np.ndarray
    endpoint: np.ndarray
    known: dict[str, np.ndarray]  # per nullable column (verb, path, status): logged or not

    @property
    def size(self) -> int:
        return int(self.ts_ms.size)

    def subset(self, mask: np.ndarray) -> ChunkView:
        """The rows where ``mask`` is true."""
        arrays = {
            f.name: getattr(self, f.name)[mask] for f in fields(self) if f.name != "known"
        }
        return ChunkView(**arrays, known={k: v[mask] for k, v in self.known.items()})


def epoch_ms(ts: pd.Series) -> np.ndarray:
    """Epoch milliseconds of a timestamp column (NaT becomes -1)."""
    if not (isinstance(ts.dtype, pd.DatetimeTZDtype) and ts.dtype.unit == "ms"):
        ts = pd.to_datetime(ts, utc=True).astype("datetime64[ms, UTC]")
    ms = np.asarray(ts.array.asi8, dtype=np.int64)
    return np.where(ts.isna().to_numpy(), -1, ms)


def path_template_ids(paths: pd.Series, vocab: Vocab) -> np.ndarray:
    """Global template id of every row, templating each distinct path once.

    Three levels of distinct values keep the work off the rows: the chunk's
    distinct paths (hashing is cheap), those with numbers and UUIDs replaced
    (``common_ids``: far fewer), and finally the full rules on what is left.
    """
    arr = pa.array(paths.array) if hasattr(paths.array, "__arrow_array__") else pa.array(paths)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    raw = pc.dictionary_encode(pc.fill_null(arr, ""))
    common = pc.dictionary_encode(common_ids(raw.dictionary))
    final = pc.dictionary_encode(template_paths(common.dictionary))
    lut = vocab.ids(final.dictionary.to_pylist())[final.indices.to_numpy()]
    return lut[common.indices.to_numpy()][raw.indices.to_numpy()]


def _latency(chunk: pd.DataFrame, name: str) -> np.ndarray:
    return sketch.bucket_index(chunk[name].to_numpy(dtype=np.float32, na_value=np.nan))


def prepare(chunk: pd.DataFrame, vocabs: Vocabs) -> tuple[ChunkView, int]:
    """The integer view of a chunk and the number of rows skipped (no usable time)."""
    missing = [c for c in COLUMNS_USED if c not in chunk.columns]
    if missing:
        raise InputError(f"not a canonical chunk: missing columns {', '.join(missing)}")
    ms = epoch_ms(chunk["ts"])
    keep = ms >= 0
    skipped = int(keep.size - keep.sum())
    if skipped:
        chunk, ms = chunk.loc[keep], ms[keep]
    proxy = category_ids(chunk["proxy"], vocabs.proxy)
    app = category_ids(chunk["app"], vocabs.app)
    client = category_ids(chunk["client_id"], vocabs.client)
    verb = category_ids(chunk["verb"], vocabs.verb, missing=UNKNOWN_VERB)
    template = path_template_ids(chunk["path"], vocabs.template)
    consumer = tuple_ids(
        [proxy, app, client],
        [len(vocabs.proxy), len(vocabs.app), len(vocabs.client)],
        vocabs.consumer,
    )
    endpoint = tuple_ids(
        [proxy, verb, template],
        [len(vocabs.proxy), len(vocabs.verb), len(vocabs.template)],
        vocabs.endpoint,
    )
    second = ms // 1000
    view = ChunkView(
        ts_ms=ms,
        second=second,
        minute=second // 60,
        outcome=outcome_codes(chunk),
        total_bucket=_latency(chunk, "total_ms"),
        target_bucket=_latency(chunk, "target_ms"),
        proxy=proxy,
        app=app,
        client=client,
        consumer=consumer,
        endpoint=endpoint,
        known={
            "verb": chunk["verb"].notna().to_numpy(),
            "path": chunk["path"].notna().to_numpy(),
            "status": chunk["status"].notna().to_numpy(),
        },
    )
    return view, skipped
