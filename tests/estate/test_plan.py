"""What atc up would start: ports that move when taken, Temporal reused or external."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from copilot.config import Settings
from copilot.errors import UsageError
from copilot.estate.plan import (
    UpOptions,
    child_env,
    choose_port,
    plan_temporal,
    port_free,
    worker_modules,
)


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_free_port_is_kept_silently() -> None:
    port, _ = choose_port(0, "x")
    assert choose_port(port, "dashboard") == (port, None)


def test_a_taken_port_moves_up_and_says_so(taken: int) -> None:
    port, note = choose_port(taken, "dashboard")
    assert port > taken and port_free(port)
    assert note == f"dashboard: port {taken} is taken by another program; using {port}"


def test_an_external_temporal_address_starts_no_dev_server() -> None:
    plan = plan_temporal(Settings(temporal_address="temporal.example:7233"), UpOptions())
    assert not plan.start and plan.address == "temporal.example:7233"


def test_an_external_address_and_a_dev_server_port_conflict() -> None:
    with pytest.raises(UsageError, match="--temporal-port"):
        plan_temporal(
            Settings(temporal_address="temporal.example:7233"), UpOptions(temporal_port=0)
        )


def test_something_answering_on_the_temporal_port_is_reused(taken: int) -> None:
    plan = plan_temporal(Settings(), UpOptions(temporal_port=taken))
    assert not plan.start and plan.address == f"127.0.0.1:{taken}"
    assert "already answers" in (plan.note or "")


def test_a_free_temporal_port_gets_a_dev_server_with_its_ui() -> None:
    plan = plan_temporal(Settings(), UpOptions(temporal_port=0, ui_port=0))
    assert plan.start and plan.port and plan.ui_port and plan.port != plan.ui_port


def test_the_drafting_worker_is_always_found() -> None:
    assert ("drafting", "workflows.authoring.worker") in worker_modules()


def test_children_get_the_estate_addresses_but_no_metrics_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATC_METRICS_PORT", "9464")
    env = child_env(Settings(), temporal_address="127.0.0.1:1", gateway_url="http://g")
    assert env["ATC_TEMPORAL_ADDRESS"] == "127.0.0.1:1"
    assert env["ATC_GATEWAY_URL"] == "http://g"
    assert "ATC_METRICS_PORT" not in env
