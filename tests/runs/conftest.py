"""One dev server per test module; an estate (store, gateway, workers) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runs.estate import Estate
from tests.workflows.devserver import DevServer, dev_server, estate_fixture


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("temporal")) as running:
        yield running


estate = estate_fixture(Estate)
