"""Log files for the report tests: the bundled sample, small generated days, a hostile export."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from copilot.config import Settings
from copilot.logs.sample import iter_chunks, make_scenario
from copilot.logs.writers import write_records

SAMPLE = Settings().sample_path
HOSTILE_PROXY = '<script>alert(1)</script><img src="https://evil.example/x.png">|*x*'
HOSTILE_APP = '=HYPERLINK("https://evil.example")'


def hostile_export(path: Path, rows: int = 4000) -> Path:
    """The first ``rows`` rows of the sample with one proxy and one app renamed to attacks."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8", newline="") as src:
        reader = csv.reader(src)
        header = next(reader)
        proxy, app = header.index("apiproxy"), header.index("developer_app")
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            for _, row in zip(range(rows), reader, strict=False):
                if row[proxy] == "catalog":
                    row[proxy] = HOSTILE_PROXY
                if row[app] == "storefront-web":
                    row[app] = HOSTILE_APP
                writer.writerow(row)
    return path


def generated(path: Path, *, days: int = 1, seed: int = 11, rows: int | None = None) -> Path:
    """What ``atc sample --days N --seed S [--rows R] --out PATH`` writes."""
    write_records(
        iter_chunks(make_scenario(days=days, seed=seed, rows=rows)), path, "analytics-csv"
    )
    return path
