"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half.

Write to a temporary file in the same folder, flush and fsync it, then ``os.replace``
it over the target and fsync the folder. Any failure (a full disk included) removes
the temporary file, leaves the old file untouched and raises :class:`SaveError`.

A process killed mid-write (SIGKILL, power loss) cannot remove its temporary file; the
temporary name carries the writer's process id, and the next save of the same target
removes temporaries whose writer is gone, so no debris accumulates.

:func:`file_lock` serialises read-modify-write saves between processes (the label edits of
one data set edited from two windows, or the app and a script): an advisory lock on a
hidden sibling file, released by the kernel when its holder dies, so a SIGKILL never
leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from engine.errors import SaveError, first_line

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
try:
    import msvcrt
except ImportError:
    msvcrt = None

LOW_SPACE_BYTES = 64 * 1024  # a writer that fails with less free space than this ran out of disk
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
LOCK_TIMEOUT_S = 30.0  # a lock held longer than this by another process is reported, not waited on


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock for ``path`` between processes (and threads) while the block runs.

    The lock lives on ``.<name>.lock`` beside ``path``; the file is left in place (removing a
    lock file races with the next locker). Raises :class:`SaveError` when the lock file cannot
    be made (a read-only folder) or another holder keeps it past ``timeout_s``.
    """
    target = Path(path)
    lock_path = target.parent / f".{target.name}.lock"
    cloexec = getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | cloexec, 0o666 & ~_UMASK)
    except PermissionError as denied:  # another user's lock file: flock works on a read-only descriptor too
        try:
            fd = os.open(lock_path, os.O_RDONLY | cloexec)
        except OSError:
            raise SaveError(f"Cannot write {target}: {_reason(denied)}") from denied
    except OSError as exc:
        raise SaveError(f"Cannot write {target}: {_reason(exc)}") from exc
    try:
        locked = _acquire(fd, target, timeout_s)
        try:
            yield
        finally:
            if locked:
                _release(fd)
    finally:
        os.close(fd)


def _acquire(fd: int, target: Path, timeout_s: float) -> bool:
    """Take the lock (True); False where the file system has no locks at all (saves stay atomic)."""
    deadline = time.monotonic() + timeout_s
    delay_s = 0.001
    while True:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif msvcrt is not None:  # pragma: no cover - Windows
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno in _NO_LOCKS:
                log.warning("%s: this file system cannot lock files (%s); saves from two processes at "
                            "once may not merge", target, exc.strerror)
                return False
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EDEADLK):
                raise SaveError(f"Cannot lock {target}: {_reason(exc)}") from exc
        if time.monotonic() >= deadline:
            raise SaveError(f"Cannot write {target}: another process has held it for over {timeout_s:.0f} s")
        time.sleep(delay_s)
        delay_s = min(0.05, delay_s * 2)


def _release(fd: int) -> None:
    with contextlib.suppress(OSError):
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        elif msvcrt is not None:  # pragma: no cover - Windows
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; replace ``path`` on success."""
    target = Path(path)
    fd, tmp = _make_temp(target, ".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        _raise_save_error(target, exc)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=json_default) + "\n")


def atomic_write_with(path: str | os.PathLike, writer: Callable[[str], None], suffix: str = "") -> None:
    """Atomically produce ``path`` with a library that wants a file name (``writer(tmp_path)``)."""
    target = Path(path)
    fd, tmp = _make_temp(target, suffix or target.suffix)
    os.close(fd)
    try:
        writer(os.fspath(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        _raise_save_error(target, exc)
        raise


def _make_temp(target: Path, suffix: str) -> tuple[int, Path]:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(target)
        fd, name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=suffix, dir=target.parent)
        _set_mode(fd, target)
    except OSError as exc:
        raise SaveError(f"Cannot write {target}: {_reason(exc)}") from exc
    return fd, Path(name)


# Read once at import (os.umask can only be read by setting it, which is not thread-safe).
_UMASK = os.umask(0)
os.umask(_UMASK)


def _set_mode(fd: int, target: Path) -> None:
    """mkstemp makes 0600 files: give the new file the old file's mode, else 0666 less the umask."""
    if not hasattr(os, "fchmod"):
        return
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_UMASK
    os.fchmod(fd, mode)


def _temp_prefix(target: Path, pid: int | None = None) -> str:
    return f".{target.name}.{os.getpid() if pid is None else pid}."


def _remove_stale_temps(target: Path) -> None:
    """Delete temporaries of ``target`` left by writers that no longer run (POSIX only)."""
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return
    head = f".{target.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if not entry.name.startswith(head):
                continue
            pid_text = entry.name[len(head):].split(".", 1)[0]
            if pid_text.isdigit() and not _process_alive(int(pid_text)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, owned by someone else
        return True
    return True


def _raise_save_error(target: Path, exc: BaseException) -> None:
    """Turn an I/O failure into SaveError; other exceptions propagate unchanged."""
    if isinstance(exc, SaveError):
        return
    if isinstance(exc, OSError) or (isinstance(exc, Exception) and _disk_full(target.parent, exc)):
        reason = _reason(exc) if isinstance(exc, OSError) else f"the disk is full ({first_line(exc, 200)})"
        raise SaveError(f"Cannot write {target}: {reason}. The previous version was kept.") from exc


def _disk_full(folder: Path, exc: BaseException) -> bool:
    """True when ``exc`` (from any library) came from running out of space."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return stats.f_bavail * stats.f_frsize < LOW_SPACE_BYTES


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{exc.strerror or 'no space left'}: the disk is full, free some space and save again"
    return exc.strerror or str(exc)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for numpy values and paths."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
