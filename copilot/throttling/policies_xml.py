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

Each proxy gets a bundle (:mod:`copilot.throttling.policies_bundle`) that
apigeelint accepts with no error under both its profiles; copy the policies
and steps into the real proxy.
Every value is escaped; rates and time units are validated first, since
apigeelint does not check them.

Names come from logs and bundles, so nothing trusts them. A policy name must be
one Apigee accepts (letters, digits, spaces, ``.``, ``_``, ``-``; at most 250
characters so ``policies/<name>.xml`` fits a file system) or it is refused
with the reason; names atc makes up are sanitised and, when sanitising changed
them, end in a short hash of the original so two names never collapse into
one. A proxy's folder is a sanitised, unique file-name component
(:func:`file_component`): never ``..``, a separator, a drive, a device name or
too long, so every file lands inside the output directory; the XML keeps the
real proxy name as escaped data. Characters XML 1.0 forbids (NUL and most
control characters, lone surrogates, U+FFFE/U+FFFF) cannot be escaped, so
descriptive text replaces them with U+FFFD; a condition holding one is refused.
"""

from __future__ import annotations

import hashlib
import re
from xml.sax.saxutils import escape, quoteattr

from copilot.errors import InputError
from copilot.throttling.rates import QUOTA_TYPES, TIME_UNITS, is_valid_rate

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")
_APIGEE_NAME = re.compile(r"[A-Za-z0-9 ._-]+")
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DEVICES = {"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(10)}
MAX_POLICY_NAME = 250  # Apigee allows 255; "<name>.xml" must fit a 255-byte file name
MAX_COMPONENT = 100


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def xml_text(value: str) -> str:
    """``value`` as XML character data: escaped, XML-forbidden characters as U+FFFD."""
    # a raw CR would come back as LF from any parser, so it travels as a reference
    return escape(_XML_FORBIDDEN.sub("\ufffd", value)).replace("\r", "&#13;")


def xml_attr(value: str) -> str:
    """``value`` as a quoted XML attribute (same replacement as :func:`xml_text`)."""
    return quoteattr(_XML_FORBIDDEN.sub("\ufffd", value))


def policy_name(*parts: str) -> str:
    """A valid, readable Apigee policy name (letters, digits, ``._-``; at most 100).

    When sanitising or shortening changed the parts, a hash of the original
    keeps the name unique: ``my app`` and ``my-app`` never share a policy.
    """
    raw = "-".join(p for p in parts if p)
    text = "-".join(_NAME_OK.sub("-", p).strip("-") for p in parts if p) or "policy"
    if text == raw and len(text) <= MAX_COMPONENT:
        return text
    return f"{text[: MAX_COMPONENT - 9]}-{_digest(raw)}"


def check_policy_name(name: str) -> str:
    """``name`` if Apigee accepts it as a policy name and it is a safe file name; else InputError."""
    if not isinstance(name, str) or not _APIGEE_NAME.fullmatch(name):
        raise InputError(
            f"policy name {name!r:.120} is not one Apigee accepts "
            f"(letters, digits, spaces, '.', '_' and '-' only)"
        )
    if len(name) > MAX_POLICY_NAME or not name.strip(". "):
        raise InputError(
            f"policy name {name!r:.120} cannot be a file name "
            f"(1-{MAX_POLICY_NAME} characters, not only dots and spaces)"
        )
    return name


def file_component(name: str) -> str:
    """A file-name component for ``name`` (a proxy name from the logs), unique per name.

    Letters, digits, ``.``, ``_`` and ``-`` only, no leading or trailing dot,
    not a Windows device name, at most 100 characters; a name that had to
    change gets a hash of the original, so ``a/b`` and ``a-b`` stay apart.
    """
    safe = _NAME_OK.sub("-", name).strip("-.")
    device = safe.split(".")[0].lower() in _DEVICES
    if safe == name and len(safe) <= MAX_COMPONENT and not device:
        return safe
    base = f"_{safe}" if device else safe or "proxy"
    return f"{base[: MAX_COMPONENT - 9]}-{_digest(name)}"


def client_condition(client_id: str) -> str:
    """The step condition that singles out one client id; refused when it cannot be exact."""
    if '"' in client_id or "\\" in client_id:
        raise InputError(f"client id {client_id!r} cannot be written into a condition safely")
    if _XML_FORBIDDEN.search(client_id) or not client_id.isprintable():
        raise InputError(
            f"client id {client_id!r:.80} holds control characters; "
            f"a condition on it could not match exactly"
        )
    return f'client_id = "{client_id}"'


def spike_arrest_xml(
    name: str, rate: str, *, use_effective_count: bool = False, identifier: str | None = None
) -> str:
    """A SpikeArrest policy."""
    check_policy_name(name)
    if not is_valid_rate(rate):
        raise InputError(f"SpikeArrest rate {rate!r} must look like 10ps or 30pm")
    ident = f"  <Identifier ref={xml_attr(identifier)}/>\n" if identifier else ""
    return (
        f'{_XML}<SpikeArrest continueOnError="false" enabled="true" name={xml_attr(name)}>\n'
        f"  <DisplayName>{xml_text(name)}</DisplayName>\n"
        f"  <Properties/>\n{ident}"
        f"  <Rate>{xml_text(rate)}</Rate>\n"
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
    check_policy_name(name)
    if time_unit not in TIME_UNITS:
        raise InputError(f"Quota TimeUnit {time_unit!r} must be one of {', '.join(TIME_UNITS)}")
    if quota_type not in QUOTA_TYPES:
        raise InputError(f"Quota type {quota_type!r} must be one of {', '.join(QUOTA_TYPES)}")
    if int(allow) < 1 or int(interval) < 1:
        raise InputError("Quota Allow count and Interval must be positive integers")
    if quota_type == "calendar" and not start_time:
        raise InputError("a calendar Quota needs a StartTime")
    kind = "" if quota_type == "default" else f" type={xml_attr(quota_type)}"
    ident = f"  <Identifier ref={xml_attr(identifier)}/>\n" if identifier else ""
    start = (
        f"  <StartTime>{xml_text(start_time)}</StartTime>\n"
        if quota_type == "calendar" and start_time
        else ""
    )
    return (
        f'{_XML}<Quota continueOnError="false" enabled="true" name={xml_attr(name)}{kind}>\n'
        f"  <DisplayName>{xml_text(name)}</DisplayName>\n{ident}"
        f'  <Allow count="{int(allow)}"/>\n'
        f"  <Interval>{int(interval)}</Interval>\n"
        f"  <TimeUnit>{xml_text(time_unit)}</TimeUnit>\n{start}"
        f"  <Distributed>true</Distributed>\n"
        f"  <Synchronous>true</Synchronous>\n"
        f"</Quota>\n"
    )
