"""Proxy bundles that attach atc's suggested throttling policies, ready to lint.

Each proxy gets ``<out>/<folder>/apiproxy/``: a descriptor, a ProxyEndpoint
with the steps in flow order (proxy SpikeArrest, then the verification of the
caller, then per-app SpikeArrests, the per-client ceiling and quotas), a
TargetEndpoint and the policies. Per-app steps have a ``client_id = "..."``
condition and quotas count per ``client_id``; Apigee sets ``client_id`` only
when VerifyAPIKey or OAuthV2 VerifyAccessToken ran
(cloud.google.com/apigee/docs/api-platform/reference/policies/verify-api-key-policy,
"Flow variables"), so the bundle verifies the caller first: VerifyAPIKey on
the request's key (``verify="apikey"``, ``key_ref``), or VerifyJWT then
VerifyAPIKey on the token's client-id claim (``verify="jwt"``), or nothing
when the real proxy already verifies (``verify="none"``).

The bundle is named ``<proxy>-limits`` (never the name ``atc scopes
artifacts`` gives its bundles, which is the proxy's own), its base path is the
input bundle's when known (``base_path``), and its TargetServer is a parameter.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from copilot.errors import InputError
from copilot.scopes.bundle import client_key_ref, verify_api_key_policy, verify_jwt_policy
from copilot.throttling.policies_xml import (
    _XML,
    check_policy_name,
    file_component,
    policy_name,
    xml_attr,
    xml_text,
)

VERIFY_KEY = "VA-VerifyAPIKey"
VERIFY_JWT = "JWT-VerifyToken"
VERIFY_KINDS = ("apikey", "jwt", "none")
DEFAULT_KEY_REF = "request.header.x-apikey"


@dataclass(frozen=True)
class JwtCheck:
    """How the ``verify="jwt"`` bundle verifies tokens, and the claim holding the app key."""

    jwks_uri: str
    issuer: str
    audience: str
    client_id_claim: str = "client_id"
    alg: str = "RS256"


@dataclass(frozen=True)
class BundleOptions:
    """How ``--policies-out`` bundles verify the caller and reach the backend (see module docstring)."""

    verify: str = "apikey"
    key_ref: str = DEFAULT_KEY_REF
    jwt_check: JwtCheck | None = None
    target_server: str | None = None


def _verification(
    verify: str, key_ref: str, jwt_check: JwtCheck | None
) -> list[tuple[str, str, str | None]]:
    if verify not in VERIFY_KINDS:
        raise InputError(f"verify {verify!r} must be one of {', '.join(VERIFY_KINDS)}")
    if verify == "none":
        return []
    if verify == "apikey":
        return [(VERIFY_KEY, verify_api_key_policy(VERIFY_KEY, key_ref), None)]
    if jwt_check is None:
        raise InputError('verify="jwt" needs a JwtCheck (JWKS URI, issuer, audience)')
    if jwt_check.alg not in ("RS256", "ES256"):
        raise InputError(f"algorithm {jwt_check.alg!r} is not supported; use RS256 or ES256")
    # VerifyJWT names its flow variables after the policy: the key ref below reads them.
    token = verify_jwt_policy(
        jwt_check.alg, jwt_check.jwks_uri, jwt_check.issuer, jwt_check.audience, subject=None
    )
    key = verify_api_key_policy(VERIFY_KEY, client_key_ref(jwt_check.client_id_claim))
    return [(VERIFY_JWT, token, None), (VERIFY_KEY, key, None)]


def _needs_client(condition: str | None, xml: str) -> bool:
    return bool(condition) or 'ref="client_id"' in xml


def with_verification(
    policies: list[tuple[str, str, str | None]],
    verify: str = "apikey",
    key_ref: str = DEFAULT_KEY_REF,
    jwt_check: JwtCheck | None = None,
) -> list[tuple[str, str, str | None]]:
    """``policies`` with the caller's verification before the first step that needs ``client_id``."""
    steps = _verification(verify, key_ref, jwt_check)
    if not steps:
        return list(policies)
    at = next((i for i, (_, x, c) in enumerate(policies) if _needs_client(c, x)), len(policies))
    return [*policies[:at], *steps, *policies[at:]]


def _step(name: str, condition: str | None) -> str:
    cond = f"        <Condition>{xml_text(condition)}</Condition>\n" if condition else ""
    return f"      <Step>\n        <Name>{xml_text(name)}</Name>\n{cond}      </Step>\n"


def _policy_names(proxy: str, policies: list[tuple[str, str, str | None]]) -> None:
    seen: set[str] = set()
    for name, _, _ in policies:
        check_policy_name(name)
        if name.lower() in seen:  # file names may be case-insensitive
            raise InputError(f"two policies named {name!r} in the bundle for proxy {proxy!r:.80}")
        seen.add(name.lower())


def bundle_name(proxy: str) -> str:
    """The bundle's API proxy name: ``<proxy>-limits``."""
    return f"{proxy}-limits"


def bundle_files(
    proxy: str,
    policies: Iterable[tuple[str, str, str | None]],
    base_path: str | None = None,
    *,
    verify: str = "apikey",
    key_ref: str = DEFAULT_KEY_REF,
    jwt_check: JwtCheck | None = None,
    target_server: str | None = None,
) -> dict[str, str]:
    """The files of a bundle attaching ``policies`` ((name, xml, condition), in flow order).

    ``base_path``: the input bundle's base path (default ``/<proxy>``).
    ``verify``/``key_ref``/``jwt_check``: how ``client_id`` gets set (module
    docstring). ``target_server``: default ``<proxy>-backend``. Keys are
    relative paths under ``apiproxy/``; every one is a safe path (policy names
    are checked, the descriptor is named by :func:`file_component`).
    """
    policies = with_verification(list(policies), verify, key_ref, jwt_check)
    _policy_names(proxy, policies)
    if base_path is not None and (
        not base_path.startswith("/") or any(c in base_path for c in ' "<>')
    ):
        raise InputError(f"base path {base_path!r:.120} is not an absolute URL path")
    base = base_path or f"/{proxy}"
    name = bundle_name(proxy)
    server = target_server or policy_name(proxy, "backend")
    check_policy_name(server)
    files = {
        f"{file_component(name)}.xml": _descriptor(proxy, name, base, policies),
        "proxies/default.xml": _proxy_endpoint(base, policies),
        "targets/default.xml": _target_endpoint(base, server),
    }
    for name, xml, _ in policies:
        files[f"policies/{name}.xml"] = xml
    return files


def _descriptor(
    proxy: str, name: str, base: str, policies: list[tuple[str, str, str | None]]
) -> str:
    """The bundle's ``<APIProxy>`` descriptor, listing every policy."""
    names = "".join(f"    <Policy>{xml_text(n)}</Policy>\n" for n, _, _ in policies)
    return (
        f'{_XML}<APIProxy revision="1" name={xml_attr(name)}>\n'
        f"  <DisplayName>{xml_text(name)}</DisplayName>\n"
        f"  <Description>Throttling suggested by atc for {xml_text(proxy)}</Description>\n"
        f"  <BasePaths>{xml_text(base)}</BasePaths>\n"
        f"  <Policies>\n{names}  </Policies>\n"
        f"  <ProxyEndpoints>\n    <ProxyEndpoint>default</ProxyEndpoint>\n  </ProxyEndpoints>\n"
        f"  <TargetEndpoints>\n    <TargetEndpoint>default</TargetEndpoint>\n"
        f"  </TargetEndpoints>\n</APIProxy>\n"
    )


def _proxy_endpoint(base: str, policies: list[tuple[str, str, str | None]]) -> str:
    """The default ProxyEndpoint: every policy a PreFlow request step, in flow order."""
    steps = "".join(_step(n, c) for n, _, c in policies)
    return (
        f'{_XML}<ProxyEndpoint name="default">\n'
        f"  <Description>Throttling steps suggested by atc, in flow order.</Description>\n"
        f'  <PreFlow name="PreFlow">\n    <Request>\n{steps}    </Request>\n'
        f"    <Response/>\n  </PreFlow>\n  <Flows/>\n"
        f'  <PostFlow name="PostFlow">\n    <Request/>\n    <Response/>\n  </PostFlow>\n'
        f"  <HTTPProxyConnection>\n    <BasePath>{xml_text(base)}</BasePath>\n"
        f"  </HTTPProxyConnection>\n"
        f'  <RouteRule name="default">\n    <TargetEndpoint>default</TargetEndpoint>\n'
        f"  </RouteRule>\n</ProxyEndpoint>\n"
    )


def _target_endpoint(base: str, server: str) -> str:
    """The default TargetEndpoint: the proxy's backend through a TargetServer."""
    return (
        f'{_XML}<TargetEndpoint name="default">\n'
        f"  <Description>The proxy's backend (a TargetServer per environment).</Description>\n"
        f'  <PreFlow name="PreFlow">\n    <Request/>\n    <Response/>\n  </PreFlow>\n'
        f'  <PostFlow name="PostFlow">\n    <Request/>\n    <Response/>\n  </PostFlow>\n'
        f"  <HTTPTargetConnection>\n    <LoadBalancer>\n"
        f"      <Server name={xml_attr(server)}/>\n"
        f"    </LoadBalancer>\n    <Path>{xml_text(base)}</Path>\n"
        f"  </HTTPTargetConnection>\n</TargetEndpoint>\n"
    )


def safe_relative(relative: str) -> tuple[str, ...]:
    """The parts of a bundle-relative path; InputError if it could leave its folder."""
    parts = tuple(relative.split("/"))
    for part in parts:
        if part in ("", ".", "..") or "\\" in part or ":" in part or "\x00" in part:
            raise InputError(f"bundle path {relative!r:.120} could leave its folder; refused")
        if len(part.encode("utf-8", "surrogatepass")) > 255:
            raise InputError(f"bundle path {relative[:60]!r}... has a name over 255 bytes")
    return parts


def _folders(proxies: Iterable[str]) -> dict[str, str]:
    """A distinct folder per proxy, even if two names sanitise alike."""
    used: set[str] = set()
    out = {}
    for proxy in sorted(proxies):
        folder, n = file_component(proxy), 1
        while folder.lower() in used:  # file systems may ignore case
            n += 1
            folder = f"{file_component(proxy)}-{n}"
        used.add(folder.lower())
        out[proxy] = folder
    return out


def write_bundles(bundles: dict[str, dict[str, str]], out_dir: str | Path) -> dict[str, Path]:
    """Write ``{proxy: files}`` as ``out_dir/<folder>/apiproxy/...``; returns the apiproxy dirs.

    Every path is checked to stay inside ``out_dir``, whatever the names hold.
    """
    out = Path(out_dir)
    inside = out.resolve()
    written = {}
    for proxy, folder in _folders(bundles).items():
        root = out / folder / "apiproxy"
        for relative, text in bundles[proxy].items():
            path = root.joinpath(*safe_relative(relative))
            if not path.resolve().is_relative_to(inside):
                raise InputError(f"{path} would be written outside {out}; refused")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written[proxy] = root
    return written


def zip_bundles(bundles: dict[str, dict[str, str]]) -> bytes:
    """All bundles in one zip (``<folder>/apiproxy/...``), for a download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for proxy, folder in _folders(bundles).items():
            for relative, text in sorted(bundles[proxy].items()):
                entry = "/".join((folder, "apiproxy", *safe_relative(relative)))
                archive.writestr(entry, text)
    return buffer.getvalue()
