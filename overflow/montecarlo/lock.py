"""An advisory lock on a Monte Carlo store directory, so that two processes never write one store.

``fcntl.flock`` on ``DIR/.lock``: the kernel releases it when the holding process exits or is
killed, so a lock left by a dead run is simply taken over. The file holds the holder's pid for the
message a refused writer gets. The holder deletes it on release, so a finished run leaves the
directory as it was; a locker therefore checks, once it holds the lock, that the name still leads
to the file it locked (else it locked a deleted one, and tries again)."""

from __future__ import annotations

import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX (Windows, not a target): no lock, the chunks' own checks still apply
    fcntl = None  # type: ignore[assignment]

__all__ = ["DirectoryLock", "StoreLocked", "LOCK_NAME"]

LOCK_NAME = ".lock"


class StoreLocked(RuntimeError):
    """Another process is writing to this ``out`` directory; ``.pid`` is its process id (None if unknown)."""

    def __init__(self, directory: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid is not None else "a process whose pid could not be read"
        super().__init__(
            f"out = {str(directory)!r} is in use by another monte_carlo ({who}, holding "
            f"{str(directory / LOCK_NAME)!r}); wait for it to finish, or give another directory"
        )
        self.pid = pid


class DirectoryLock:
    """Exclusive lock on ``directory`` (which must exist), taken at construction; `release` gives it up.

    Raises
    ------
    StoreLocked
        Another process (or another lock object in this one) holds it.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._fd: int | None = None
        if fcntl is None:
            return
        path = self.directory / LOCK_NAME
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _same_file(fd, path):
                    break
            except BlockingIOError:
                pid = _holder(fd)
                os.close(fd)
                raise StoreLocked(self.directory, pid) from None
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the previous holder deleted it between our open and our lock
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    @property
    def held(self) -> bool:
        """True while this object holds the lock (always False where fcntl is missing)."""
        return self._fd is not None

    def release(self) -> None:
        """Delete the lock file and give the lock up; harmless when not held."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.unlink(self.directory / LOCK_NAME)  # while still holding it: see the module's docstring
            except FileNotFoundError:
                pass
            finally:
                os.close(fd)

    def __enter__(self) -> DirectoryLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _holder(fd: int) -> int | None:
    """The pid the holder wrote; it writes just after locking, so an empty file is retried briefly."""
    for _ in range(20):
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.01)
    return None
