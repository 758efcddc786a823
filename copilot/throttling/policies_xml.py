"""Apigee policy XML for the suggestions, and proxy bundles that attach them.

SpikeArrest children are ``DisplayName``, ``Properties``, ``Identifier``,
``MessageWeight``, ``Rate`` and ``UseEffectiveCount`` (apigeelint PO042; the
spike-arrest policy reference). Quota takes ``Identifier``, ``Allow count``,
``Interval``, ``TimeUnit``, ``Distributed``, ``Synchronous`` and, for
``type="calendar"``, ``StartTime`` (apigeelint PO035; the quota policy
reference); quotas are distributed (PO022 warns otherwise) and synchronous so
Apigee counts them the way the replay did. Per-app policies are attached with
a ``client_id = "..."`` step condition; they belong after the proxy's key or
token verification, which sets ``client_id``.

Each proxy gets a bundle ``<out>/<proxy>/apiproxy/`` (descriptor, ProxyEndpoint
with the steps in flow order: proxy SpikeArrest, per-app SpikeArrests, the
per-client ceiling, quotas; a TargetEndpoint; the policies) that apigeelint
accepts with no error; copy the policies and steps into the real proxy.
Every value is escaped; rates and time units are validated first, since
apigeelint does not check them (APIGEE.md).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from copilot.errors import InputError
from copilot.throttling.rates import QUOTA_TYPES, TIME_UNITS, is_valid_rate

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


def policy_name(*parts: str) -> str:
    """A valid, readable Apigee policy name (letters, digits, ``._-``; at most 255)."""
    text = "-".join(_NAME_OK.sub("-", p).strip("-") for p in parts if p)
    return (text or "policy")[:255]


def client_condition(client_id: str) -> str:
    if '"' in client_id or "\\" in client_id:
        raise InputError(f"client id {client_id!r} cannot be written into a condition safely")
    return f'client_id = "{client_id}"'


def spike_arrest_xml(
    name: str, rate: str, *, use_effective_count: bool = False, identifier: str | None = None
) -> str:
    """A SpikeArrest policy."""
    if not is_valid_rate(rate):
        raise InputError(f"SpikeArrest rate {rate!r} must look like 10ps or 30pm")
    ident = f"  <Identifier ref={quoteattr(identifier)}/>\n" if identifier else ""
    return (
        f'{_XML}<SpikeArrest continueOnError="false" enabled="true" name={quoteattr(name)}>\n'
        f"  <DisplayName>{escape(name)}</DisplayName>\n"
        f"  <Properties/>\n{ident}"
        f"  <Rate>{escape(rate)}</Rate>\n"
        f"  <UseEffectiveCount>{'true' if use_effective_count else 'false'}</UseEffectiveCount>\n"
        f"</SpikeArrest>\n"
    )


def quota_xml(
    name: str,
    allow: int,
    *,
    interval: int = 1,
    time_unit: str = "hour",
    quota_type: str = "calendar",
    start_time: str | None = None,
    identifier: str | None = "client_id",
) -> str:
    """A Quota policy (``quota_type`` ``default`` writes no ``type``)."""
    if time_unit not in TIME_UNITS:
        raise InputError(f"Quota TimeUnit {time_unit!r} must be one of {', '.join(TIME_UNITS)}")
    if quota_type not in QUOTA_TYPES:
        raise InputError(f"Quota type {quota_type!r} must be one of {', '.join(QUOTA_TYPES)}")
    if int(allow) < 1 or int(interval) < 1:
        raise InputError("Quota Allow count and Interval must be positive integers")
    if quota_type == "calendar" and not start_time:
        raise InputError("a calendar Quota needs a StartTime")
    kind = "" if quota_type == "default" else f" type={quoteattr(quota_type)}"
    ident = f"  <Identifier ref={quoteattr(identifier)}/>\n" if identifier else ""
    start = (
        f"  <StartTime>{escape(start_time)}</StartTime>\n"
        if quota_type == "calendar" and start_time
        else ""
    )
    return (
        f'{_XML}<Quota continueOnError="false" enabled="true" name={quoteattr(name)}{kind}>\n'
        f"  <DisplayName>{escape(name)}</DisplayName>\n{ident}"
        f'  <Allow count="{int(allow)}"/>\n'
        f"  <Interval>{int(interval)}</Interval>\n"
        f"  <TimeUnit>{escape(time_unit)}</TimeUnit>\n{start}"
        f"  <Distributed>true</Distributed>\n"
        f"  <Synchronous>true</Synchronous>\n"
        f"</Quota>\n"
    )


def _step(name: str, condition: str | None) -> str:
    cond = f"        <Condition>{escape(condition)}</Condition>\n" if condition else ""
    return f"      <Step>\n        <Name>{escape(name)}</Name>\n{cond}      </Step>\n"


def bundle_files(
    proxy: str, policies: Iterable[tuple[str, str, str | None]], base_path: str | None = None
) -> dict[str, str]:
    """The files of a bundle attaching ``policies`` ((name, xml, condition), in flow order)."""
    policies = list(policies)
    base = base_path or f"/{proxy}"
    names = "".join(f"    <Policy>{escape(n)}</Policy>\n" for n, _, _ in policies)
    steps = "".join(_step(n, c) for n, _, c in policies)
    files = {
        f"{policy_name(proxy)}.xml": (
            f'{_XML}<APIProxy revision="1" name={quoteattr(proxy)}>\n'
            f"  <DisplayName>{escape(proxy)}</DisplayName>\n"
            f"  <Description>Throttling suggested by atc for {escape(proxy)}</Description>\n"
            f"  <BasePaths>{escape(base)}</BasePaths>\n"
            f"  <Policies>\n{names}  </Policies>\n"
            f"  <ProxyEndpoints>\n    <ProxyEndpoint>default</ProxyEndpoint>\n  </ProxyEndpoints>\n"
            f"  <TargetEndpoints>\n    <TargetEndpoint>default</TargetEndpoint>\n"
            f"  </TargetEndpoints>\n</APIProxy>\n"
        ),
        "proxies/default.xml": (
            f'{_XML}<ProxyEndpoint name="default">\n'
            f"  <Description>Throttling steps suggested by atc, in flow order.</Description>\n"
            f'  <PreFlow name="PreFlow">\n    <Request>\n{steps}    </Request>\n'
            f"    <Response/>\n  </PreFlow>\n  <Flows/>\n"
            f'  <PostFlow name="PostFlow">\n    <Request/>\n    <Response/>\n  </PostFlow>\n'
            f"  <HTTPProxyConnection>\n    <BasePath>{escape(base)}</BasePath>\n"
            f"  </HTTPProxyConnection>\n"
            f'  <RouteRule name="default">\n    <TargetEndpoint>default</TargetEndpoint>\n'
            f"  </RouteRule>\n</ProxyEndpoint>\n"
        ),
        "targets/default.xml": (
            f'{_XML}<TargetEndpoint name="default">\n'
            f"  <Description>The proxy's backend (a TargetServer per environment).</Description>\n"
            f'  <PreFlow name="PreFlow">\n    <Request/>\n    <Response/>\n  </PreFlow>\n'
            f'  <PostFlow name="PostFlow">\n    <Request/>\n    <Response/>\n  </PostFlow>\n'
            f"  <HTTPTargetConnection>\n    <LoadBalancer>\n"
            f"      <Server name={quoteattr(policy_name(proxy, 'backend'))}/>\n"
            f"    </LoadBalancer>\n    <Path>{escape(base)}</Path>\n"
            f"  </HTTPTargetConnection>\n</TargetEndpoint>\n"
        ),
    }
    for name, xml, _ in policies:
        files[f"policies/{name}.xml"] = xml
    return files


def write_bundles(bundles: dict[str, dict[str, str]], out_dir: str | Path) -> dict[str, Path]:
    """Write ``{proxy: files}`` as ``out_dir/<proxy>/apiproxy/...``; returns the apiproxy dirs."""
    out = Path(out_dir)
    written = {}
    for proxy, files in sorted(bundles.items()):
        root = out / policy_name(proxy) / "apiproxy"
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written[proxy] = root
    return written


def zip_bundles(bundles: dict[str, dict[str, str]]) -> bytes:
    """All bundles in one zip (``<proxy>/apiproxy/...``), for a download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for proxy, files in sorted(bundles.items()):
            for relative, text in sorted(files.items()):
                archive.writestr(f"{policy_name(proxy)}/apiproxy/{relative}", text)
    return buffer.getvalue()
