"""Tar and zip archives: extract one only inside its destination (``safe_extract``), and write the tar
files bundles and results travel in (``TarWriter``).

An archive from elsewhere can name ``../../.bashrc``, an absolute path, a symlink to ``/etc`` followed
by a file "inside" it, a device node, or claim terabytes when unpacked. Every member is checked first
and the archive is refused as a whole, with one line naming the member, before anything is written.
For tar, Python's own ``tarfile`` ``data`` filter (PEP 706) then extracts, so the standard library's
rules apply on top of ours; zip members are checked here because ``zipfile`` silently rewrites bad
names instead of refusing them.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import stat
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from suite.errors import BadInput
from suite.files import file_sha256

MAX_BYTES = 64 * 2**30  # what an honest bundle of models and a calibration set could need
MAX_MEMBERS = 200_000
MAX_MANIFEST_BYTES = 64 << 20  # a manifest lists jobs (a few KB each), never data


def _inside(dest: Path, name: str, archive: Path) -> Path:
    """``dest / name`` resolved, refusing names that leave ``dest``."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise BadInput(f"{archive}: member {name!r} has an absolute path; refusing to extract the archive")
    if ".." in pure.parts:
        raise BadInput(
            f"{archive}: member {name!r} climbs out of the destination ('..'); refusing to extract the archive"
        )
    target = (dest / pure).resolve()
    if target != dest and dest not in target.parents:
        raise BadInput(f"{archive}: member {name!r} resolves outside {dest}; refusing to extract the archive")
    return target


def _check_tar(tar: tarfile.TarFile, dest: Path, archive: Path, max_bytes: int) -> None:
    total = 0
    for i, member in enumerate(tar):
        if i >= MAX_MEMBERS:
            raise BadInput(f"{archive}: more than {MAX_MEMBERS} members; refusing to extract the archive")
        _inside(dest, member.name, archive)
        if member.isdev() or member.isfifo():
            raise BadInput(f"{archive}: member {member.name!r} is a device or FIFO; refusing to extract the archive")
        if member.issym() or member.islnk():
            link = member.linkname
            start = PurePosixPath(member.name).parent if member.issym() else PurePosixPath()
            joined = posixpath.normpath(str(start / link))
            if PurePosixPath(link).is_absolute() or joined == ".." or joined.startswith("../"):
                raise BadInput(
                    f"{archive}: member {member.name!r} links outside the destination ({link!r}); refusing to extract the archive"
                )
        total += max(member.size, 0)
        if total > max_bytes:
            raise BadInput(
                f"{archive}: unpacks to more than {max_bytes / 2**30:.0f} GiB; refusing to extract the archive"
            )


def _check_zip(zf: zipfile.ZipFile, dest: Path, archive: Path, max_bytes: int) -> None:
    total = 0
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise BadInput(f"{archive}: more than {MAX_MEMBERS} members; refusing to extract the archive")
    for info in infos:
        _inside(dest, info.filename, archive)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BadInput(f"{archive}: member {info.filename!r} is a symlink; refusing to extract the archive")
        total += info.file_size
        if total > max_bytes:
            raise BadInput(
                f"{archive}: unpacks to more than {max_bytes / 2**30:.0f} GiB; refusing to extract the archive"
            )


def _zip_magic(archive: Path) -> bool:
    """Does the file start like a zip? ``zipfile.is_zipfile`` alone looks for a zip directory near the
    end, so a tar whose last members include a zip (an ``.npz`` of eval data) would pass for a zip."""
    with open(archive, "rb") as handle:
        return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def safe_extract(archive: Path, dest: Path, max_bytes: int = MAX_BYTES) -> list[Path]:
    """Extract ``archive`` (tar, tar.gz/bz2/xz or zip) into ``dest``; returns the files written.

    Refuses the whole archive (``BadInput``, nothing written) if any member would land outside
    ``dest``, is a device, FIFO or a link leaving ``dest``, or if it unpacks to more than ``max_bytes``.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise BadInput(f"{archive}: no such archive file")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    try:
        if _zip_magic(archive) and zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                _check_zip(zf, dest, archive, max_bytes)
                zf.extractall(dest)
                names = [info.filename for info in zf.infolist() if not info.is_dir()]
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                _check_tar(tar, dest, archive, max_bytes)
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(dest, filter="data")
                else:  # Python < 3.10.12 / 3.11.4: our checks above are the filter
                    tar.extractall(dest)  # noqa: S202 (members checked above)
                names = [m.name for m in tar.getmembers() if m.isfile()]
        else:
            raise BadInput(f"{archive}: not a tar or zip archive")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise BadInput(f"{archive}: corrupt or truncated archive ({exc})") from None
    return [dest / name for name in names]


# ------------------------------------------------------------------------------------------ writing
def _tar_mode(path: Path, write: bool) -> Literal["w", "w:gz", "w:xz", "r", "r:gz", "r:xz"]:
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "w:gz" if write else "r:gz"
    if name.endswith((".tar.xz", ".txz")):
        return "w:xz" if write else "r:xz"
    return "w" if write else "r"


class TarWriter:
    """A tar file written to a temp name and renamed into place when complete; members are added once by
    name (jobs share artifacts and data) and the sha256 of each is kept for a manifest."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.tar = tarfile.open(self.tmp, _tar_mode(out, write=True))
        self.files: dict[str, str] = {}

    def add_bytes(self, name: str, data: bytes) -> str:
        if name not in self.files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o644
            self.tar.addfile(info, io.BytesIO(data))
            self.files[name] = hashlib.sha256(data).hexdigest()
        return name

    def add_file(self, name: str, path: Path) -> str:
        if name not in self.files:
            info = self.tar.gettarinfo(str(path), arcname=name)
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as handle:
                self.tar.addfile(info, handle)
            self.files[name] = file_sha256(path)
        return name

    def close(self, ok: bool) -> None:
        self.tar.close()
        if ok:
            os.chmod(self.tmp, 0o644)  # carried and shared: readable like any file the user writes
            os.replace(self.tmp, self.out)
        else:
            self.tmp.unlink(missing_ok=True)


def read_manifest(path: Path, schema: str, where: Path, what: str, made_by: str, model: Any = None) -> dict[str, Any]:
    """The JSON manifest at ``path`` inside an extracted archive (an EdgeQ ``what``), with its schema and
    the keys of ``model`` (``suite.bundle.manifest``) checked; BadInput naming the archive ``where`` and
    what is wrong (``made_by``: its command)."""
    if not path.is_file():
        raise BadInput(f"{where}: not an EdgeQ {what} (no {path.name}; made by `{made_by}`?)")
    from suite.records.store import read_json

    try:
        manifest = read_json(path, limit=MAX_MANIFEST_BYTES, what="JSON manifest")
    except BadInput as exc:
        raise BadInput(f"{where}: {path.name}: {str(exc).removeprefix(f'{path}: ')}") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != schema:
        got = manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__
        raise BadInput(f"{where}: {path.name}: schema: got {got!r}, expected {schema!r}")
    if model is not None:
        from pydantic import ValidationError

        from suite.records.schema import describe

        try:
            model.model_validate(manifest)
        except ValidationError as exc:
            raise BadInput(f"{where}: {path.name}: {describe(exc)}") from None
    return manifest
