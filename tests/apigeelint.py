"""The real apigeelint (installed by `make install` into .tools/), shared by the tests that lint bundles."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

APIGEELINT = ROOT / ".tools" / "node_modules" / ".bin" / "apigeelint"
# apigeelint's profiles: "apigee" (its default) and "apigeex" (Apigee X/hybrid rules).
PROFILES = ("apigee", "apigeex")


def require_apigeelint() -> Path:
    """The binary; skips when absent, unless ATC_REQUIRE_APIGEELINT makes that a failure."""
    if not APIGEELINT.exists():
        if os.environ.get("ATC_REQUIRE_APIGEELINT"):
            pytest.fail(f"apigeelint is required but missing at {APIGEELINT}; run `make install`")
        pytest.skip(f"apigeelint not installed at {APIGEELINT} (run `make install`)")
    return APIGEELINT


def lint_errors(bundle: Path, profile: str | None = "apigeex") -> tuple[int, list[str]]:
    """apigeelint's exit code and its error-severity messages for one apiproxy bundle.

    ``profile=None`` runs apigeelint without ``--profile`` (its default profile).
    """
    command = [str(APIGEELINT), "-s", str(bundle), "-f", "json.js"]
    if profile is not None:
        if profile not in PROFILES:
            raise ValueError(f"apigeelint profile {profile!r} is not one of {PROFILES}")
        command += ["--profile", profile]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    errors = [
        f"{Path(f['filePath']).name}: {m.get('ruleId')} {m['message']}"
        for f in report
        for m in f["messages"]
        if m["severity"] == 2
    ]
    return proc.returncode, errors
