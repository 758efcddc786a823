import gc
import os

import numpy as np
import pytest

from copilot import spill
from copilot.errors import ConfigError


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


def test_an_unusable_scratch_setting_is_a_config_error_naming_it(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(spill.ENV, str(blocker / "scratch"))
    with pytest.raises(ConfigError, match="ATC_SPILL_DIR"):
        spill.SpillDir()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a full disk)")
def test_a_full_scratch_disk_is_a_config_error_not_a_traceback():
    with spill.SpillDir() as d:
        target = d.file("ts.i8")
        target.symlink_to("/dev/full")  # every write: ENOSPC, as on a full disk
        with pytest.raises(ConfigError, match="cannot write scratch file.*disk.*ATC_SPILL_DIR"):
            spill.append(target, np.arange(1 << 16, dtype=np.int64))
