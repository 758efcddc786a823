"""Global integer ids for the labels of a stream of chunks.

Chunks carry categorical columns whose categories differ from chunk to chunk.
Each chunk's (small) category list is mapped to global ids once, and the
per-row codes are translated with one array lookup; tuples of ids (proxy x app
x client, proxy x verb x template) get their own ids the same way, from the
distinct combinations present in the chunk. No Python runs per row.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np
import pandas as pd

from copilot.logs.schema import NOT_SET


class Vocab:
    """Labels (strings or tuples of ids) <-> dense global ids, in first-seen order.

    With ``limit``, labels first seen after ``limit`` distinct ones all share the
    id of ``overflow``: this bounds memory when labels run away (e.g. paths
    that no templating rule recognises).
    """

    def __init__(self, limit: int | None = None, overflow: Hashable = "{other}") -> None:
        self._ids: dict[Hashable, int] = {}
        self.labels: list[Hashable] = []
        self.limit = limit
        self.overflow = overflow
        self.overflowed = 0

    def __len__(self) -> int:
        return len(self.labels)

    def id(self, label: Hashable) -> int:
        """The id of ``label``, assigning the next one when it is new."""
        found = self._ids.get(label)
        if found is None:
            if self.limit is not None and len(self.labels) >= self.limit:
                self.overflowed += 1
                if label != self.overflow:
                    return self.id_unlimited(self.overflow)
            return self.id_unlimited(label)
        return found

    def id_unlimited(self, label: Hashable) -> int:
        """The id of ``label``, ignoring the limit."""
        found = self._ids.get(label)
        if found is None:
            found = self._ids[label] = len(self.labels)
            self.labels.append(label)
        return found

    def ids(self, labels: Iterable[Hashable]) -> np.ndarray:
        """Ids of many labels, as an int64 array (new ones numbered in their order)."""
        labels = labels if isinstance(labels, list) else list(labels)
        found = list(map(self._ids.get, labels))  # known labels: one C-level pass
        for i, got in enumerate(found):
            if got is None:
                found[i] = self.id(labels[i])
        return np.fromiter(found, dtype=np.int64, count=len(found))


def category_ids(series: pd.Series, vocab: Vocab, missing: str = NOT_SET) -> np.ndarray:
    """Global ids of a categorical column's values (missing values -> ``missing``)."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    codes = series.cat.codes.to_numpy()
    labels = list(map(str, series.cat.categories.tolist()))
    if codes.size and codes.min() < 0:
        labels.append(missing)  # code -1 indexes this trailing entry
    return vocab.ids(labels)[codes] if labels else np.zeros(codes.size, np.int64)


def dense_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-negative int64 keys (sorted) and each row's index among them."""
    if keys.size == 0:
        return keys[:0], keys[:0]
    hi = int(keys.max()) + 1
    if hi <= max(4 * keys.size, 1 << 16):
        present = np.bincount(keys, minlength=hi) > 0
        uniq = np.flatnonzero(present)
        lut = np.zeros(hi, dtype=np.int64)
        lut[uniq] = np.arange(uniq.size)
        return uniq, lut[keys]
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, inverse.astype(np.int64)


def tuple_ids(columns: list[np.ndarray], sizes: list[int], vocab: Vocab) -> np.ndarray:
    """Global ids of row-wise tuples of ids; ``sizes[i]`` bounds ``columns[i]``."""
    key = np.zeros(columns[0].size, dtype=np.int64)
    for col, size in zip(columns, sizes, strict=True):
        key = key * size + col
    uniq, inverse = dense_codes(key)
    parts = []
    rest = uniq
    for size in reversed(sizes):
        rest, part = np.divmod(rest, size)
        parts.append(part)
    combos = zip(*(p.tolist() for p in reversed(parts)), strict=True)
    return vocab.ids(combos)[inverse]
