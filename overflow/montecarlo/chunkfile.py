"""One chunk file of a Monte Carlo store (``chunk_NNNNNN.npz``): the per-trajectory arrays of
trajectories ``start .. stop - 1`` and a header naming the run (its fingerprint), the chunk's index
and range, and a sha256 of header and arrays. A truncated, bit-flipped, swapped (a copy of another
chunk) or foreign file is told apart from a good one, and every complaint names the file."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .chunks import FIELDS, HEADER_FIELDS, LATER_FIELDS

__all__ = ["ChunkError", "FORMAT", "check_chunk", "check_legacy_chunk", "read_chunk", "write_chunk"]

#: Format of the chunks written now; format 1 (no header) is read as a legacy chunk.
FORMAT = 2
_HEADER = "__chunk__"
_HEADER_KEYS = {"format", "run", "index", "start", "stop", "sha256"}


class ChunkError(ValueError):
    """A chunk file that cannot be used; ``.path`` names it and ``.kind`` says why: ``"unreadable"``
    (truncated, not a zip, bad CRC), ``"damaged"`` (content and checksum disagree, rows or fields
    missing), ``"misplaced"`` (another chunk of the same run), ``"foreign"`` (another run's),
    ``"unverifiable"`` (no header: written by an older overflow) or ``"extra"`` (an index the run
    does not have)."""

    def __init__(self, path: str | os.PathLike[str], kind: str, reason: str) -> None:
        super().__init__(f"chunk file {str(path)!r} {reason}")
        self.path = Path(path)
        self.kind = kind
        self.reason = reason


def write_chunk(
    fh: BinaryIO, arrays: dict[str, np.ndarray], fingerprint: str, index: int, start: int, stop: int
) -> None:
    """Write ``arrays`` (trajectories ``start .. stop - 1`` of the run ``fingerprint``) as chunk ``index``."""
    header: dict[str, Any] = {"format": FORMAT, "run": fingerprint, "index": index, "start": start, "stop": stop}
    header["sha256"] = _digest(arrays, header)
    np.savez(fh, **arrays, **{_HEADER: np.array(json.dumps(header, sort_keys=True))})


def read_chunk(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    """The arrays of a chunk file and its header (None for a chunk written before headers existed).

    Raises
    ------
    ChunkError
        The file cannot be read as a chunk (kind ``"unreadable"``, or ``"damaged"`` for a bad header).
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise ValueError("a single array, not an .npz archive")
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except Exception as exc:  # BadZipFile, EOFError, zlib.error, a bad CRC, a bad .npy header ...
        raise ChunkError(path, "unreadable", f"cannot be read ({type(exc).__name__}: {exc})") from exc
    raw = arrays.pop(_HEADER, None)
    if raw is None:
        return arrays, None
    try:
        header = json.loads(str(raw[()]))
        if not isinstance(header, dict) or set(header) != _HEADER_KEYS:
            raise ValueError(f"keys {sorted(header) if isinstance(header, dict) else type(header).__name__}")
    except (ValueError, TypeError) as exc:
        raise ChunkError(path, "damaged", f"has a damaged header ({exc})") from None
    return arrays, header


def check_chunk(
    path: str | os.PathLike[str],
    arrays: dict[str, np.ndarray],
    header: dict[str, Any],
    fingerprint: str,
    index: int,
    start: int,
    stop: int,
) -> None:
    """Raise `ChunkError` unless ``path`` is, intact, chunk ``index`` (``start .. stop - 1``) of the
    run ``fingerprint``. The checksum comes first: a flipped bit in the header is damage, not a
    claim to be another chunk."""
    if header.get("sha256") != _digest(arrays, header):
        raise ChunkError(path, "damaged", "is damaged: its content does not match its sha256 checksum")
    if header["run"] != fingerprint:
        raise ChunkError(
            path,
            "foreign",
            f"belongs to another run (fingerprint {str(header['run'])[:12]}..., this run's {fingerprint[:12]}...)",
        )
    if (header["index"], header["start"], header["stop"]) != (index, start, stop):
        raise ChunkError(
            path,
            "misplaced",
            f"holds chunk {header['index']} (trajectories {header['start']} to "
            f"{header['stop'] - 1}), not chunk {index} ({start} to {stop - 1})",
        )
    _check_rows(path, arrays, stop - start, HEADER_FIELDS)


def check_legacy_chunk(path: str | os.PathLike[str], arrays: dict[str, np.ndarray], start: int, stop: int) -> None:
    """What can be checked of a chunk without a header (an older store): its fields and row count."""
    _check_rows(path, arrays, stop - start, tuple(f for f in FIELDS if f not in LATER_FIELDS))


def _check_rows(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], rows: int, fields: tuple[str, ...]
) -> None:
    missing = [f for f in fields if f not in arrays]
    if missing:
        raise ChunkError(path, "damaged", f"is damaged: it lacks {', '.join(missing)}")
    for name, a in arrays.items():
        if a.ndim == 0 or a.shape[0] != rows:
            raise ChunkError(path, "damaged", f"is damaged: {name} has shape {a.shape}, expected {rows} rows")


def _digest(arrays: dict[str, np.ndarray], header: dict[str, Any]) -> str:
    """sha256 over the header (its checksum left out) and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(json.dumps({k: v for k, v in header.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
