"""Abusive clients: two signals, one of them about behaviour; a busy client is not abusive."""

from __future__ import annotations

import pytest

from copilot.throttling.abuse import find_abusive
from tests.throttling.conftest import consumers_analysis as analysis

pytestmark = pytest.mark.slow  # generates weeks of traffic


@pytest.mark.parametrize(
    ("extra", "surge", "signals"),
    [
        # scraper: 404s, fast, refused, drives a surge
        (("scraper", 8000, 800, 2400, 20.0), 0.9, ("errors", "rate", "throttled", "surge")),
        # enumerating slowly but refused a lot: still two behavioural signals
        (("prober", 1000, 100, 150, 4.0), 0.0, ("errors", "throttled")),
        # batch job: fast and drives a surge, but behaves: not abusive
        (("batch", 2000, 10, 0, 18.0), 0.97, None),
        # partner over its quota now and then: not abusive
        (("partner", 2600, 10, 186, 4.0), 0.0, None),
        # too few requests to judge
        (("tiny", 20, 10, 5, 30.0), 0.0, None),
    ],
)
def test_who_is_abusive(extra: tuple, surge: float, signals: tuple | None) -> None:
    found = find_abusive(analysis(extra, surge))
    if signals is None:
        assert found == []
    else:
        assert [(a.app, a.signals) for a in found] == [(extra[0], signals)]
        assert len(found[0].reasons) == len(signals)


def test_anonymous_traffic_is_never_named() -> None:
    a = analysis(("x", 8000, 800, 2400, 20.0), 0.9)
    a.tables["consumers"].loc[3, "client_id"] = "(not set)"
    assert find_abusive(a) == []


def test_generated_scenarios_name_the_scraper_only(roomy) -> None:
    run, scenario = roomy
    assert [a.client_id for a in run.report.abusive] == [scenario.abusive.client_id]
