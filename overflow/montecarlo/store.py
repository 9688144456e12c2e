"""Streaming a Monte Carlo run to a directory: ``params.json`` plus one ``chunk_NNNNNN.npz`` per
finished chunk (see `chunkfile`), each written to a temporary name and renamed into place, so a
killed process leaves only whole chunks behind and a second call with the same directory resumes.

One writer at a time holds the directory's lock (see `lock`). Every chunk on disk is verified
before it is reused or loaded: a damaged or foreign one is named, and a resumed run computes it
again. params.json is written only when it is missing (and then only after the chunks already
there have been found to belong to this run) or to convert an older store; never with other
parameters."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .chunkfile import ChunkError, check_chunk, check_legacy_chunk, read_chunk, write_chunk
from .chunks import with_later_fields
from .fingerprint import run_fingerprint
from .lock import DirectoryLock

__all__ = ["ChunkStore", "ResumeMismatch", "StoreWarning", "chunk_file", "read_params", "scan"]

_FORMAT = 2
_OLDER_FORMATS = (1,)  # chunks without a header: read, checked for size only, converted on resume
_CHUNK = re.compile(r"^chunk_(\d{6,})\.npz$")
_TEMPORARY = re.compile(r"^\.(chunk_\d{6,}|params)_.*\.tmp$")


class ResumeMismatch(ValueError):
    """``out`` holds a run whose parameters differ from this call's."""


class StoreWarning(UserWarning):
    """A chunk on disk was damaged or foreign and is computed again, or an older store's chunks
    could be checked for size only."""


@dataclasses.dataclass
class Scan:
    """What `scan` found: intact chunks by index, the files that cannot be used, and which of the
    intact chunks are headerless ones of an older store."""

    good: dict[int, dict[str, np.ndarray]]
    bad: list[tuple[int, ChunkError]]
    legacy: set[int]


def scan(path: str | os.PathLike[str], fingerprint: str, n: int, chunk: int, legacy_ok: bool) -> Scan:
    """Read and verify every ``chunk_*.npz`` in ``path`` against the run ``fingerprint`` of ``n``
    trajectories in chunks of ``chunk``. Headerless chunks are accepted (checked for size) only
    when ``legacy_ok``; otherwise they are bad, of kind ``"unverifiable"``."""
    found = Scan({}, [], set())
    n_chunks = -(-n // chunk)
    for name in sorted(os.listdir(path)):
        if not (m := _CHUNK.match(name)):
            continue
        i, file = int(m.group(1)), Path(path) / name
        start, stop = i * chunk, min(n, (i + 1) * chunk)
        try:
            if i >= n_chunks:
                raise ChunkError(file, "extra", f"is not a chunk of this run, which has chunks 0 to {n_chunks - 1}")
            arrays, header = read_chunk(file)
            if header is not None:
                check_chunk(file, arrays, header, fingerprint, i, start, stop)
            elif legacy_ok:
                check_legacy_chunk(file, arrays, start, stop)
                found.legacy.add(i)
            else:
                raise ChunkError(
                    file,
                    "unverifiable",
                    "carries no fingerprint or checksum (written by an older "
                    "overflow into a store of the current format)",
                )
        except FileNotFoundError:  # removed since listdir (load takes no lock)
            continue
        except ChunkError as exc:
            found.bad.append((i, exc))
            continue
        found.good[i] = with_later_fields(arrays)
    return found


class ChunkStore:
    """The directory ``path`` holding the chunks of the run described by ``params``, locked for this
    writer until `close`. ``done`` maps each chunk found intact on disk to its arrays.

    Raises
    ------
    StoreLocked
        Another process is writing to ``path``.
    ResumeMismatch
        ``path`` holds another run: params.json differs, or (params.json missing) a chunk's own
        fingerprint does; or a chunk file has an index this run does not have.
    """

    def __init__(self, path: str | os.PathLike[str], params: dict[str, Any], extra: dict[str, Any] | None = None):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"out = {str(self.path)!r} exists and is not a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = DirectoryLock(self.path)
        try:
            self._open(params, extra or {})
        except BaseException:
            self._lock.release()
            raise

    def _open(self, params: dict[str, Any], extra: dict[str, Any]) -> None:
        self.params = json.loads(json.dumps(params))  # normalised as it will read back
        self.fingerprint = run_fingerprint(self.params)
        self.n, self.chunk = int(self.params["n"]), int(self.params["chunk"])
        if self._lock.held:  # no other writer: temporary files are what killed writers left
            _remove_temporaries(self.path)
        saved = read_params(self.path) if (self.path / "params.json").exists() else None
        if saved is not None:
            diffs = _differences(saved.get("run", {}), self.params)
            if diffs:
                raise ResumeMismatch(
                    f"out = {str(self.path)!r} holds a run with other parameters ({'; '.join(diffs[:6])}); "
                    "resume with the same arguments, or give another directory"
                )
        found = scan(
            self.path,
            self.fingerprint,
            self.n,
            self.chunk,
            legacy_ok=saved is None or saved["format"] in _OLDER_FORMATS,
        )
        for _, exc in found.bad:
            if exc.kind == "extra":
                raise ResumeMismatch(f"{exc}: move it out of out = {str(self.path)!r}, or give another directory")
        if saved is None:
            self._refuse_strangers(found)
        for i, exc in found.bad:
            warnings.warn(f"recomputing chunk {i}: {exc}", StoreWarning, stacklevel=4)
        self.done = found.good
        if found.legacy:  # an older store of the same run: give its chunks a header
            for i in sorted(found.legacy):
                self.save(i, found.good[i])
            warnings.warn(
                f"out = {str(self.path)!r} was written by an older overflow (store format "
                f"{saved['format'] if saved else 1}, chunks without fingerprint or checksum): its "
                f"{len(found.legacy)} chunks were checked for size only, and now carry this run's "
                "fingerprint and checksum",
                StoreWarning,
                stacklevel=4,
            )
        if saved is None or saved["format"] != _FORMAT:
            content = json.dumps(
                {"format": _FORMAT, "fingerprint": self.fingerprint, "run": self.params, **extra},
                indent=1,
                sort_keys=True,
            )
            _write_atomic(self.path / "params.json", lambda fh: fh.write(content.encode()))

    def _refuse_strangers(self, found: Scan) -> None:
        """Without params.json the chunks' own fingerprints decide: one of another run, or one without
        a fingerprint, is never taken for this run's."""
        strangers = [exc for _, exc in found.bad if exc.kind == "foreign"]
        strangers += [
            ChunkError(
                chunk_file(self.path, i), "unverifiable", "carries no fingerprint (written by an older overflow)"
            )
            for i in sorted(found.legacy)
        ]
        if strangers:
            raise ResumeMismatch(
                f"out = {str(self.path)!r} has no params.json, and {strangers[0]}, so this run "
                "cannot be resumed from it: give another directory, or move the file away"
            )

    def chunk_path(self, index: int) -> Path:
        return chunk_file(self.path, index)

    def bounds(self, index: int) -> tuple[int, int]:
        return index * self.chunk, min(self.n, (index + 1) * self.chunk)

    def save(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Write chunk ``index`` with its header (fingerprint, range, checksum), atomically."""
        start, stop = self.bounds(index)
        _write_atomic(self.chunk_path(index), lambda fh: write_chunk(fh, arrays, self.fingerprint, index, start, stop))

    def close(self) -> None:
        """Release the directory's lock."""
        self._lock.release()

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chunk_file(path: str | os.PathLike[str], index: int) -> Path:
    """Where chunk ``index`` of the run in directory ``path`` lives."""
    return Path(path) / f"chunk_{index:06d}.npz"


def read_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The contents of ``path/params.json`` (current or older format), or a clear error."""
    meta = Path(path) / "params.json"
    try:
        data = json.loads(meta.read_text())
    except FileNotFoundError:
        has_chunks = os.path.isdir(path) and any(_CHUNK.match(f) for f in os.listdir(path))
        hint = (
            "; calling monte_carlo again with the same arguments and out= writes it again from the chunks"
            if has_chunks
            else ""
        )
        raise FileNotFoundError(f"{str(path)!r} holds no Monte Carlo run (no params.json){hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{str(meta)!r} is not valid JSON: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("format") not in (_FORMAT, *_OLDER_FORMATS)
        or not isinstance(data.get("run"), dict)
    ):
        fmt = data.get("format") if isinstance(data, dict) else None
        raise ValueError(
            f"{str(meta)!r} has format {fmt!r}; this overflow reads formats "
            f"{', '.join(map(str, (*_OLDER_FORMATS, _FORMAT)))}"
        )
    return data


def _remove_temporaries(path: Path) -> None:
    for name in os.listdir(path):
        if _TEMPORARY.match(name):
            try:
                os.unlink(path / name)
            except FileNotFoundError:
                pass


def _write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """write(fh) into a temporary file beside ``path``, flushed to disk, then renamed onto ``path``:
    readers (and a resumed run) see the whole file or none of it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}_", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _differences(saved: Any, now: Any, where: str = "") -> list[str]:
    if isinstance(saved, dict) and isinstance(now, dict):
        out: list[str] = []
        for key in sorted(set(saved) | set(now)):
            out += _differences(saved.get(key), now.get(key), f"{where}.{key}" if where else key)
        return out
    return [] if saved == now else [f"{where}: {_short(now)} here, {_short(saved)} on disk"]


def _short(x: Any) -> str:
    s = json.dumps(x)
    return s if len(s) <= 40 else s[:37] + "..."
