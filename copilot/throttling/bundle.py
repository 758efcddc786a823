"""Read the SpikeArrest and Quota policies a proxy bundle already has (directory or zip).

A bundle is Apigee's ``apiproxy/`` tree: ``apiproxy/<name>.xml`` (the
``APIProxy`` descriptor), ``policies/*.xml`` and the endpoints under
``proxies/`` and ``targets/`` whose ``<Step>`` elements attach policies, each
with an optional ``<Condition>``. ``read_bundles`` accepts an ``apiproxy``
directory, a directory holding one or several bundles (or zips of them), or a
zip; it returns every throttling policy with where it is attached, so
suggestions can show current -> suggested. Values may come from a flow
variable (``Rate ref=``, ``Allow countRef=``; the reference wins when it
resolves, the literal is the fallback: Quota policy reference) — both are kept.
(cloud.google.com/apigee/docs/api-platform/reference/policies/spike-arrest-policy,
.../quota-policy)

A bundle is input like any other: a zip entry that is absolute, climbs with
``..`` or names a drive is refused (it could only come from a crafted
archive), as is an entry too large to be a policy or a policy whose name Apigee
would not accept (its name later becomes a file name when atc writes XML).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from copilot.errors import BundleError, InputError
from copilot.throttling.policies_xml import check_policy_name

_CLIENT_REF = re.compile(r"(^|\.)(client_id|developer\.app\.name|app\.name|apikey)$", re.I)
_CLIENT_COND = re.compile(
    r"(client_id|developer\.app\.name)\s*(?:=|==|equals|Equals|EQUALS)\s*\"([^\"]+)\""
)
MAX_FILES = 5_000
MAX_ENTRY_BYTES = 2_000_000  # a policy or endpoint file is a few kilobytes


@dataclass(frozen=True)
class CurrentPolicy:
    """A SpikeArrest or Quota found in a bundle."""

    proxy: str
    name: str
    kind: str  # SpikeArrest | Quota
    enabled: bool = True
    identifier: str | None = None
    rate: str | None = None
    rate_ref: str | None = None
    use_effective_count: bool | None = None
    allow: int | None = None
    allow_ref: str | None = None
    interval: int | None = None
    time_unit: str | None = None
    quota_type: str | None = None
    start_time: str | None = None
    distributed: bool | None = None
    conditions: tuple[str, ...] = ()
    attached: tuple[str, ...] = ()
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def per_client(self) -> bool:
        """Keyed on the calling app (its client id, key or app name)."""
        return bool(self.identifier and _CLIENT_REF.search(self.identifier))

    @property
    def for_client(self) -> str | None:
        """The client id or app name its step condition singles out, if any."""
        for condition in self.conditions:
            match = _CLIENT_COND.search(condition)
            if match:
                return match.group(2)
        return None

    @property
    def unconditional(self) -> bool:
        return not self.conditions or any(not c.strip() for c in self.conditions)

    def value_text(self) -> str:
        if self.kind == "SpikeArrest":
            ref = f" (ref {self.rate_ref})" if self.rate_ref else ""
            uec = ", UseEffectiveCount" if self.use_effective_count else ""
            return f"{self.rate or '?'}{ref}{uec}"
        count = "?" if self.allow is None else str(self.allow)
        if self.allow_ref:  # the reference wins at runtime; the literal is the fallback
            count = f"from {self.allow_ref} (fallback {count})"
        return f"{count} per {self.interval or 1} {self.time_unit or '?'} ({self.quota_type or 'default'})"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["conditions"] = list(self.conditions)
        out["attached"] = list(self.attached)
        out["per_client"] = self.per_client
        out["value"] = self.value_text()
        return out


def read_bundles(path: str | Path) -> list[CurrentPolicy]:
    """Every throttling policy of the bundle(s) at ``path`` (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"{path}: no such file or directory")
    trees = list(_trees(path))
    if not trees:
        raise BundleError(f"{path}: no apiproxy/ bundle found (directory or zip)")
    found: list[CurrentPolicy] = []
    for label, files in trees:
        found += _policies(label, files)
    return found


def _trees(path: Path):
    """(label, {relative path under apiproxy/: bytes}) per bundle found."""
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise BundleError(f"{path}: not a zip file or a bundle directory")
        yield from _zip_trees(path)
        return
    roots = [path] if path.name == "apiproxy" else sorted(path.glob("apiproxy"))
    roots += sorted(p for p in path.glob("*/apiproxy") if p.is_dir())
    roots += sorted(p for p in path.glob("*/*/apiproxy") if p.is_dir())
    for root in dict.fromkeys(roots):
        files = {}
        for file in sorted(root.rglob("*.xml"))[:MAX_FILES]:
            files[file.relative_to(root).as_posix()] = file.read_bytes()
        yield str(root), files
    for archive in sorted(path.glob("*.zip")):
        yield from _zip_trees(archive)


def _zip_trees(path: Path):
    try:
        with zipfile.ZipFile(path) as archive:
            groups: dict[str, dict[str, bytes]] = {}
            for info in archive.infolist()[:MAX_FILES]:
                parts = _entry_parts(path, info.filename)
                if "apiproxy" not in parts or not info.filename.endswith(".xml"):
                    continue
                cut = parts.index("apiproxy")
                prefix = "/".join(parts[: cut + 1])
                relative = "/".join(parts[cut + 1 :])
                groups.setdefault(prefix, {})[relative] = _read_entry(path, archive, info)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path}: cannot read the zip ({exc})") from exc
    for prefix, files in sorted(groups.items()):
        yield f"{path}!{prefix}", files


def _entry_parts(path: Path, name: str) -> tuple[str, ...]:
    """The parts of a zip entry name; refuse one that could land outside its folder."""
    parts = tuple(name.split("/"))
    drive = len(parts[0]) >= 2 and parts[0][1] == ":"
    if name.startswith("/") or "\\" in name or "\x00" in name or drive or ".." in parts:
        raise BundleError(
            f"{path}: zip entry {name[:120]!r} is absolute or climbs out of the bundle "
            f"('..', '/', '\\' or a drive); refused"
        )
    return tuple(p for p in parts if p not in ("", "."))


def _read_entry(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # The header's size may lie, so read at most one byte past the limit.
    with archive.open(info) as entry:
        data = entry.read(MAX_ENTRY_BYTES + 1)
    if len(data) > MAX_ENTRY_BYTES:
        raise BundleError(
            f"{path}: zip entry {info.filename[:120]!r} is over {MAX_ENTRY_BYTES:,} bytes; "
            f"not a policy file"
        )
    return data


def _parse(label: str, name: str, data: bytes) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise BundleError(f"{label}/{name}: not well-formed XML ({exc})") from exc


def _policies(label: str, files: dict[str, bytes]) -> list[CurrentPolicy]:
    proxy = _proxy_name(label, files)
    steps: dict[str, list[tuple[str, str]]] = {}
    for name, data in files.items():
        if name.startswith(("proxies/", "targets/")):
            _collect_steps(_parse(label, name, data), name, steps)
    out = []
    for name, data in sorted(files.items()):
        if not name.startswith("policies/"):
            continue
        root = _parse(label, name, data)
        if root.tag not in ("SpikeArrest", "Quota"):
            continue
        policy_name = _checked_name(label, name, root.get("name") or PurePosixPath(name).stem)
        where = steps.get(policy_name, [])
        common = dict(
            proxy=proxy,
            name=policy_name,
            kind=root.tag,
            enabled=(root.get("enabled", "true").strip().lower() != "false"),
            identifier=_attr(root, "Identifier", "ref"),
            conditions=tuple(c for _, c in where),
            attached=tuple(w for w, _ in where),
            source=f"{label}/{name}",
        )
        out.append(_spike(root, common) if root.tag == "SpikeArrest" else _quota(root, common))
    return out


def _checked_name(label: str, file: str, name: str) -> str:
    try:
        return check_policy_name(name)
    except InputError as exc:
        raise BundleError(f"{label}/{file}: {exc.message}") from None


def _proxy_name(label: str, files: dict[str, bytes]) -> str:
    for name, data in files.items():
        if "/" not in name:
            root = _parse(label, name, data)
            if root.tag == "APIProxy" and root.get("name"):
                return str(root.get("name"))
    return PurePosixPath(label.replace("!", "/")).parent.name or "unknown"


def _collect_steps(root: ET.Element, file: str, steps: dict) -> None:
    def walk(node: ET.Element, trail: list[str]) -> None:
        for child in node:
            label = child.tag if child.get("name") is None else f"{child.tag}[{child.get('name')}]"
            if child.tag == "Step":
                name = (child.findtext("Name") or "").strip()
                cond = (child.findtext("Condition") or "").strip()
                steps.setdefault(name, []).append((" / ".join([file, *trail]), cond))
            else:
                walk(child, [*trail, label])

    walk(root, [])


def _attr(root: ET.Element, tag: str, attr: str) -> str | None:
    node = root.find(tag)
    return None if node is None else (node.get(attr) or None)


def _text(root: ET.Element, tag: str) -> str | None:
    node = root.find(tag)
    text = None if node is None else (node.text or "").strip()
    return text or None


def _bool(text: str | None) -> bool | None:
    return None if text is None else text.strip().lower() == "true"


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _spike(root: ET.Element, common: dict) -> CurrentPolicy:
    return CurrentPolicy(
        **common,
        rate=_text(root, "Rate"),
        rate_ref=_attr(root, "Rate", "ref"),
        use_effective_count=_bool(_text(root, "UseEffectiveCount")),
    )


def _quota(root: ET.Element, common: dict) -> CurrentPolicy:
    allow = root.find("Allow")
    default = root.find("UseQuotaConfigInAPIProduct/DefaultConfig")
    source = default if default is not None and allow is None else root
    count = None
    if allow is not None:
        count = _int(allow.get("count")) or _int((allow.text or "").strip() or None)
    elif default is not None:
        count = _int(_text(default, "Allow"))
    ref = allow.get("countRef") if allow is not None else None
    if default is not None and allow is None:
        ref = "API product quota (UseQuotaConfigInAPIProduct)"
    return CurrentPolicy(
        **common,
        allow=count,
        allow_ref=ref,
        interval=_int(_text(source, "Interval")) or 1,
        time_unit=_text(source, "TimeUnit"),
        quota_type=root.get("type"),
        start_time=_text(root, "StartTime"),
        distributed=_bool(_text(root, "Distributed")),
    )
