"""Scopes: which operations a set of scopes grants, and whether a request is allowed.

A thin page over :mod:`copilot.scopes`: every decision shown here is the same
``check_request`` the gateway client and the emulator make.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from copilot.dashboard.errors import say
from copilot.errors import AtcError
from copilot.scopes import DEFAULT_PRODUCTS, Catalog, check_request, load_catalog
from copilot.scopes.urls import METHODS


@st.cache_resource(show_spinner=False)
def _catalog(path: str, stamp: int) -> Catalog:
    # ``stamp`` (the file's mtime) is part of the cache key, so edits are picked up.
    return load_catalog(path)


def _headers(text: str) -> dict[str, str]:
    headers = {}
    for line in text.splitlines():
        if line.strip():
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    return headers


st.title("Scopes")
st.caption(
    "What API product scopes let a workflow reach, matched the way Apigee matches "
    "resource paths and methods. Ambiguous URLs are refused, with the reason."
)

path = st.text_input("API product file", value=str(DEFAULT_PRODUCTS), key="scopes_products")
file = Path(path)
try:
    catalog = _catalog(path, file.stat().st_mtime_ns if file.is_file() else 0)
except AtcError as exc:
    st.error(say(exc))
    st.stop()

default = [s for s in ("orders.read",) if s in catalog.scopes]
scopes = st.multiselect("Granted scopes", catalog.scopes, default=default, key="scopes_granted")
granted = catalog.operations_for(scopes)

cols = st.columns(3)
cols[0].metric("Operations granted", f"{len(granted)} of {len(catalog.operations)}")
cols[1].metric("API products", len(catalog.products_for(scopes)))
cols[2].metric("Proxies reached", len({op.proxy for op in granted}))

st.subheader("Operations these scopes grant")
if granted:
    table = pd.DataFrame(
        [
            {
                "operation": op.id,
                "method": op.method,
                "path": op.full_template,
                "granted by": ", ".join(s for s in op.scopes if s in scopes),
            }
            for op in granted
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", height=38 + 35 * min(len(table), 25))
else:
    st.info("No operation is granted: pick one or more scopes.")

if catalog.findings:
    with st.expander(f"Findings in the product file ({len(catalog.findings)})"):
        for finding in catalog.findings:
            st.warning(finding)

st.subheader("Check a request")
left, right = st.columns([1, 4])
method = left.selectbox("Method", METHODS, key="scopes_method")
url = right.text_input("URL or path", value="/v1/orders/42", key="scopes_url")
with st.expander("Gateway origin and headers (optional)"):
    gateway = st.text_input(
        "Gateway origin, to accept absolute URLs to it",
        value="",
        placeholder="https://api.example.com",
        key="scopes_gateway",
    )
    header_text = st.text_area("Headers, one 'Name: value' per line", key="scopes_headers")

decision = check_request(
    catalog, scopes, method, url, _headers(header_text), gateway=gateway.strip() or None
)
if decision.allowed:
    st.success(f"Allowed: {decision.reason}")
else:
    st.error(f"Denied: {decision.reason}")
if decision.operation is not None:
    st.caption(f"Catalog operation: {decision.operation.id} ({decision.operation.full_template})")
