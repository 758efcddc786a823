"""Fixtures for the fault tests: one real dev server per test module, an estate per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.workflows.devserver import DevServer, dev_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("temporal")) as running:
        yield running
