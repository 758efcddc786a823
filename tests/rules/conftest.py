"""Fixtures for the drafting tests: the shipped catalog."""

from __future__ import annotations

import pytest

from copilot.scopes import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()
