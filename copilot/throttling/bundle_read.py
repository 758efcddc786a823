"""Find the bundles under a path: proxies (``apiproxy/``) and shared flows (``sharedflowbundle/``).

A path may be one bundle directory, a folder holding bundles up to three
levels down (an export of an organization), a zip of one bundle or of several,
or a folder of zips. Next to the bundles may lie an environment's flow-hook
configuration (``flowhooks.json`` / ``flowhooks.xml``, as the management API
or apigeecli export it); it is returned as raw bytes for
:mod:`copilot.throttling.bundle_hooks`.

A bundle is input like any other: a zip entry that is absolute, climbs with
``..`` or names a drive is refused (it could only come from a crafted
archive), as is an entry too large to be a policy file.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from copilot.errors import BundleError

MAX_FILES = 5_000
MAX_ENTRY_BYTES = 2_000_000  # a policy or endpoint file is a few kilobytes
ROOTS = {"apiproxy": "proxy", "sharedflowbundle": "sharedflow"}
DEPTH = 3  # folders of bundles are searched this many levels down


@dataclass(frozen=True)
class RawBundle:
    """One bundle's XML files, keyed by their path under the bundle root."""

    kind: str  # proxy | sharedflow
    label: str  # where it was found (directory, or zip!prefix)
    files: dict[str, bytes]


def is_hooks_name(name: str) -> bool:
    """A file that holds an environment's flow hooks (by its name)."""
    low = name.lower().rsplit("/", 1)[-1]
    return low.startswith("flowhook") and low.endswith((".json", ".xml"))


def find(path: Path) -> tuple[list[RawBundle], list[tuple[str, bytes]]]:
    """The bundles and flow-hook files at ``path`` (see module docstring)."""
    if not path.exists():
        raise BundleError(f"{path}: no such file or directory")
    if path.is_file():
        if is_hooks_name(path.name):
            return [], [(str(path), _read_file(path))]
        if not zipfile.is_zipfile(path):
            raise BundleError(f"{path}: not a zip file or a bundle directory")
        return _zip(path)
    bundles: list[RawBundle] = []
    hooks: list[tuple[str, bytes]] = []
    for root, kind in _roots(path):
        files = {}
        for file in sorted(root.rglob("*.xml"))[:MAX_FILES]:
            files[file.relative_to(root).as_posix()] = _read_file(file)
        bundles.append(RawBundle(kind, str(root), files))
    for level in range(DEPTH + 1):
        pattern = "/".join(["*"] * level + ["*.zip"])
        for archive in sorted(path.glob(pattern)):
            found, more = _zip(archive)
            bundles += found
            hooks += more
        for file in sorted(path.glob("/".join(["*"] * level + ["flowhook*"]))):
            if file.is_file() and is_hooks_name(file.name):
                hooks.append((str(file), _read_file(file)))
    return bundles, hooks


def _roots(path: Path) -> list[tuple[Path, str]]:
    if path.name in ROOTS:
        return [(path, ROOTS[path.name])]
    out = []
    for level in range(DEPTH + 1):
        for name, kind in ROOTS.items():
            pattern = "/".join(["*"] * level + [name])
            out += [(p, kind) for p in sorted(path.glob(pattern)) if p.is_dir()]
    return list(dict.fromkeys(out))


def _read_file(path: Path) -> bytes:
    if path.stat().st_size > MAX_ENTRY_BYTES:
        raise BundleError(f"{path}: over {MAX_ENTRY_BYTES:,} bytes; not a bundle file")
    return path.read_bytes()


def _zip(path: Path) -> tuple[list[RawBundle], list[tuple[str, bytes]]]:
    groups: dict[tuple[str, str], dict[str, bytes]] = {}
    hooks: list[tuple[str, bytes]] = []
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist()[:MAX_FILES]:
                parts = _entry_parts(path, info.filename)
                if info.is_dir() or not info.filename.endswith((".xml", ".json")):
                    continue
                if is_hooks_name(info.filename):
                    hooks.append((f"{path}!{info.filename}", _read_entry(path, archive, info)))
                    continue
                cut = next((i for i, p in enumerate(parts) if p in ROOTS), None)
                if cut is None or not info.filename.endswith(".xml"):
                    continue
                prefix = "/".join(parts[: cut + 1])
                relative = "/".join(parts[cut + 1 :])
                group = groups.setdefault((prefix, ROOTS[parts[cut]]), {})
                group[relative] = _read_entry(path, archive, info)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path}: cannot read the zip ({exc})") from exc
    bundles = [
        RawBundle(kind, f"{path}!{prefix}", files)
        for (prefix, kind), files in sorted(groups.items())
    ]
    return bundles, hooks


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
