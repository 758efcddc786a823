"""Where things are in the repository, computed once for every test module.

Import these instead of counting ``Path(__file__).parents``: a module that moves
keeps working, and a reader sees at once which tree a path lives in.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
FIXTURES = TESTS / "fixtures"
LOGS = FIXTURES / "logs"
REAL = FIXTURES / "real"
LLM_FIXTURES = FIXTURES / "llm"
HISTORIES = FIXTURES / "histories"
SAMPLE = ROOT / "copilot" / "data" / "sample"
DOCS = ROOT / "docs"
SAMPLE_LOG = SAMPLE / "apigee-analytics-7d.csv.gz"
