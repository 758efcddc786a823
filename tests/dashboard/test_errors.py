"""Errors for people: one sentence, no class names, no internal paths, no CLI flags."""

from __future__ import annotations

import pytest

from copilot.dashboard.errors import UNEXPECTED, say
from copilot.errors import BundleError, LogFormatError, TemporalError

UPLOAD = "/srv/atc/.atc/uploads/0123456789abcdef/mp-7f9c.log"


@pytest.mark.parametrize(
    ("exc", "names", "expected"),
    [
        (
            LogFormatError(
                f"{UPLOAD}: does not look like an Apigee log (not syslog). "
                "Use --format to force one of: syslog, analytics-csv"
            ),
            {UPLOAD: "mp-7f9c.log"},
            "mp-7f9c.log: does not look like an Apigee log (not syslog); "
            "pick the format from the Format list in the sidebar.",
        ),
        (
            BundleError("/home/me/bundles/orders.zip: no such file or directory"),
            {},
            "orders.zip: no such file or directory; "
            "check the proxy bundle field in the sidebar (a folder or a .zip).",
        ),
        (
            TemporalError("cannot reach Temporal at localhost:7233"),
            {},
            "Cannot reach Temporal at localhost:7233; "
            "start Temporal and the workers with `make run`, then reload this page.",
        ),
    ],
)
def test_an_error_is_one_sentence_in_the_dashboards_terms(exc, names, expected) -> None:  # noqa: ANN001
    said = say(exc, names)
    assert said == expected
    for internal in (type(exc).__name__, "--", "/srv/", "/home/"):
        assert internal not in said


def test_an_unexpected_error_shows_nothing_of_itself() -> None:
    assert say(KeyError("/secret/path")) == UNEXPECTED
