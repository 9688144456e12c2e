"""Streaming a Monte Carlo run to a directory: ``params.json`` plus one ``chunk_NNNNNN.npz`` per
finished chunk, each written to a temporary name and renamed into place, so a killed process
leaves only whole chunks behind and a second call with the same directory resumes."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np

__all__ = ["ChunkStore", "ResumeMismatch", "chunk_file", "read_chunk", "read_params"]

_FORMAT = 1
_CHUNK = re.compile(r"^chunk_(\d{6,})\.npz$")


class ResumeMismatch(ValueError):
    """``out`` holds a run whose parameters differ from this call's."""


class ChunkStore:
    """The directory ``path`` holding the chunks of the run described by ``params``."""

    def __init__(self, path: str | os.PathLike[str], params: dict[str, Any], extra: dict[str, Any] | None = None):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"out = {str(self.path)!r} exists and is not a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        self.params = json.loads(json.dumps(params))  # normalised as it will read back
        meta = self.path / "params.json"
        if meta.exists():
            saved = read_params(self.path)
            diffs = _differences(saved.get("run", {}), self.params)
            if diffs:
                raise ResumeMismatch(
                    f"out = {str(self.path)!r} holds a run with other parameters ({'; '.join(diffs[:6])}); "
                    "resume with the same arguments, or give another directory")
        else:
            content = json.dumps({"format": _FORMAT, "run": self.params, **(extra or {})}, indent=1, sort_keys=True)
            _write_atomic(meta, lambda fh: fh.write(content.encode()))

    def done(self) -> set[int]:
        """Indices of the chunks already on disk."""
        return {int(m.group(1)) for name in os.listdir(self.path) if (m := _CHUNK.match(name))}

    def chunk_path(self, index: int) -> Path:
        return chunk_file(self.path, index)

    def load(self, index: int) -> dict[str, np.ndarray]:
        return read_chunk(self.chunk_path(index))

    def save(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        _write_atomic(self.chunk_path(index), lambda fh: np.savez(fh, **arrays))


def chunk_file(path: str | os.PathLike[str], index: int) -> Path:
    """Where chunk ``index`` of the run in directory ``path`` lives."""
    return Path(path) / f"chunk_{index:06d}.npz"


def read_chunk(file: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    with np.load(file) as z:
        return {k: z[k] for k in z.files}


def read_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    meta = Path(path) / "params.json"
    try:
        data = json.loads(meta.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{str(path)!r} holds no Monte Carlo run (no params.json)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{str(meta)!r} is not valid JSON: {exc}") from None
    if data.get("format") != _FORMAT:
        raise ValueError(f"{str(meta)!r} has format {data.get('format')!r}; this overflow reads format {_FORMAT}")
    return data


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
