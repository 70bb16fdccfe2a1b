"""Writing outputs safely: to a temporary file beside the target, then renamed."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from kpiengine.errors import KpiError


def _mode_for(path: Path) -> int:
    """The existing file's mode, or what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    A path that is not a regular file (``/dev/null``, ``/dev/stdout``, a named pipe) is
    written to directly: renaming over it would replace the device with a file. A
    symbolic link stays a link; the file it points to is replaced.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = None  # not there (yet): written beside, then renamed
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise KpiError(f"cannot write {path}: it is a folder")
        try:
            with path.open("wb") as fh:
                fh.write(payload)
        except OSError as exc:
            raise KpiError(f"cannot write {path}: {exc.strerror or exc}") from None
        return
    if path.is_symlink():
        path = path.resolve()
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise KpiError(f"cannot write {path}: folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp makes it 0600; a report is for sharing
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise KpiError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
