"""The Scopes page: pick scopes, see the operations they grant, check a URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.paths import ROOT

pytestmark = pytest.mark.slow  # runs the Streamlit page (AppTest)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app_pages" / "scopes.py"), default_timeout=60)


def test_the_default_view_shows_the_shipped_catalog(app: AppTest) -> None:
    app.run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Operations granted"] == "3 of 19"
    table = app.dataframe[0].value
    assert list(table["operation"]) == ["orders.list", "orders.get", "orders.list_items"]
    assert app.success[0].value.startswith(
        "Allowed: GET /v1/orders/42 is granted by scope orders.read"
    )


def test_picking_scopes_lists_exactly_their_operations(app: AppTest) -> None:
    app.run()
    app.multiselect(key="scopes_granted").set_value(["payments.refund", "notifications.send"]).run()
    assert not app.exception
    assert list(app.dataframe[0].value["operation"]) == [
        "payments.refund",
        "notifications.send_email",
        "notifications.send_sms",
    ]
    app.multiselect(key="scopes_granted").set_value([]).run()
    assert len(app.dataframe) == 0 and app.info


def test_a_denied_url_shows_the_reason(app: AppTest) -> None:
    app.run()
    app.selectbox(key="scopes_method").set_value("POST").run()
    app.text_input(key="scopes_url").input("/v1/orders/42/cancel").run()
    assert not app.exception
    assert app.error[0].value == (
        "Denied: method POST is not granted on /v1/orders/42/cancel; the granted scopes allow only "
        "GET there; POST there needs scope orders.write"
    )


def test_a_hostile_url_is_denied_with_its_reason(app: AppTest) -> None:
    app.run()
    app.text_input(key="scopes_url").input("/v1/orders/%2e%2e/payments/1").run()
    assert "percent-encoded dot" in app.error[0].value


def test_an_absolute_url_needs_the_gateway_origin(app: AppTest) -> None:
    app.run()
    app.text_input(key="scopes_url").input("https://api.shop.example/v1/orders/1").run()
    assert "atc checks calls to the gateway only" in app.error[0].value
    app.text_input(key="scopes_gateway").input("https://api.shop.example").run()
    assert app.success[0].value.startswith("Allowed:")


def test_a_bad_product_file_shows_one_error(app: AppTest, tmp_path: Path) -> None:
    bad = tmp_path / "products.json"
    bad.write_text(json.dumps({"apiProduct": [{"name": "x"}]}))
    app.run()
    app.text_input(key="scopes_products").input(str(bad)).run()
    assert not app.exception
    assert app.error[0].value.startswith("Product 'x' carries only its name")
    assert "ProductsError" not in app.error[0].value and str(tmp_path) not in app.error[0].value
    app.text_input(key="scopes_products").input(str(tmp_path / "absent.json")).run()
    assert "no such file" in app.error[0].value
