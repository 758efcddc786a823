import gc

import numpy as np

from copilot import spill


def test_columns_appended_in_pieces_read_back_whole_and_by_range(tmp_path, monkeypatch):
    monkeypatch.setenv(spill.ENV, str(tmp_path))
    with spill.SpillDir() as d:
        f = d.file("ts.i8")
        spill.append(f, np.arange(5, dtype=np.int64))
        spill.append(f, np.arange(5, 8, dtype=np.int64))
        assert spill.read(f, np.int64).tolist() == list(range(8))
        assert spill.read(f, np.int64, start=3, count=2).tolist() == [3, 4]
        assert d.path.parent == tmp_path
    assert not d.path.exists()


def test_a_missing_column_reads_empty_and_a_dropped_dir_is_removed():
    d = spill.SpillDir()
    assert spill.read(d.file("none"), np.int16).size == 0
    path = d.path
    del d
    gc.collect()
    assert not path.exists()
