"""Scratch files for the data a run cannot keep in memory (docs/fanout.md, 'Memory').

A :class:`SpillDir` is a private temporary directory, under ``ATC_SPILL_DIR``
when set (a roomy local disk) and the system's temporary directory otherwise.
It is removed when closed or garbage-collected, so a run that fails halfway
leaves nothing behind. A directory that cannot be made or a full disk is a
``ConfigError`` (exit 2) naming the setting to change. Files in it are raw little-endian column files: append
with :func:`append`, read back with :func:`read`.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from pathlib import Path

import numpy as np

from copilot.errors import ConfigError

ENV = "ATC_SPILL_DIR"


class SpillDir:
    """A private scratch directory, removed on :meth:`close` or when collected."""

    def __init__(self, prefix: str = "atc-spill-") -> None:
        root = os.environ.get(ENV) or None
        try:
            if root is not None:
                Path(root).mkdir(parents=True, exist_ok=True)
            self._tmp = tempfile.TemporaryDirectory(prefix=prefix, dir=root)
        except OSError as exc:
            where = root or tempfile.gettempdir()
            raise ConfigError(
                f"cannot make a scratch directory in {where} ({exc.strerror or exc}): "
                f"set {ENV} to a writable local disk"
            ) from None
        self.path = Path(self._tmp.name)
        self._finalizer = weakref.finalize(self, self._tmp.cleanup)

    def file(self, name: str) -> Path:
        """The path of scratch file ``name`` (not created)."""
        return self.path / name

    def close(self) -> None:
        """Remove the directory and everything in it."""
        self._finalizer()

    def __enter__(self) -> SpillDir:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def append(path: Path, values: np.ndarray) -> None:
    """Append ``values`` (one dtype) to the raw column file ``path``."""
    try:
        with open(path, "ab") as fh:
            np.ascontiguousarray(values).tofile(fh)
    except OSError as exc:
        raise ConfigError(
            f"cannot write scratch file {path} ({exc.strerror or 'is the disk full?'}): set {ENV} to a local "
            "disk with room for the requests (about 31 bytes each)"
        ) from None


def read(path: Path, dtype: np.dtype | type, start: int = 0, count: int = -1) -> np.ndarray:
    """Items ``start`` .. ``start + count`` (all by default) of a raw column file."""
    dtype = np.dtype(dtype)
    if not path.exists():
        return np.zeros(0, dtype)
    with open(path, "rb") as fh:
        fh.seek(start * dtype.itemsize)
        return np.fromfile(fh, dtype=dtype, count=count)
