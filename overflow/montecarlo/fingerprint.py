"""Content hashes: of a cost, so that a resumed run can tell two costs apart even when they are
built from Python functions (``costs.scalar``, ``of.cost``) whose parameter array is empty; and of
a whole run's description, which every chunk file of a store carries."""

from __future__ import annotations

import hashlib
import json
import types
from typing import Any

import numpy as np

__all__ = ["cost_fingerprint", "run_fingerprint"]


def run_fingerprint(description: dict[str, Any]) -> str:
    """sha256 of a run's JSON description (`MCSpec.describe`, or the ``"run"`` of a store's
    params.json): equal for two runs exactly when their descriptions are equal, in any process."""
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


def cost_fingerprint(cost: Any) -> str:
    """sha256 over the cost's repr, its parameter array and its re-creatable description (the
    constructor and its arguments; Python functions by their bytecode, constants, defaults,
    closure values and the globals they read). Equal fingerprints mean the same cost as far as
    Python can observe."""
    h = hashlib.sha256()
    h.update(repr(cost).encode())
    h.update(np.ascontiguousarray(cost.data).tobytes())
    _feed(h, getattr(cost, "_spec", None), depth=0)
    return h.hexdigest()


def _feed(h: Any, obj: Any, depth: int) -> None:
    if depth > 20:  # a self-referencing closure: what was fed so far identifies it well enough
        return
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        h.update(repr(obj).encode())
    elif isinstance(obj, types.CodeType):
        # Not marshal.dumps: its bytes depend on reference counts, so they differ between processes.
        h.update(obj.co_code)
        _feed(h, obj.co_names, depth + 1)
        _feed(h, list(obj.co_consts), depth + 1)
    elif isinstance(obj, np.ndarray):
        h.update(f"{obj.dtype}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__}{len(obj)}".encode())
        for x in obj:
            _feed(h, x, depth + 1)
    elif isinstance(obj, dict):
        for k in sorted(obj, key=repr):
            _feed(h, k, depth + 1)
            _feed(h, obj[k], depth + 1)
    elif hasattr(obj, "py_func"):  # a Numba dispatcher: its Python source function
        _feed(h, obj.py_func, depth + 1)
    elif isinstance(obj, types.FunctionType):
        h.update(f"{obj.__module__}.{obj.__qualname__}".encode())
        if (obj.__module__ or "").split(".")[0] == "overflow":
            return  # the package's own constructors: their name and arguments say it all
        _feed(h, obj.__code__, depth + 1)
        _feed(h, obj.__defaults__, depth + 1)
        _feed(h, [c.cell_contents for c in obj.__closure__ or () if _has_contents(c)], depth + 1)
        # Globals the code reads (a module-level target array, a helper function), not modules.
        for name in obj.__code__.co_names:
            value = obj.__globals__.get(name)
            if value is not None and not isinstance(value, types.ModuleType):
                _feed(h, name, depth + 1)
                _feed(h, value, depth + 1)
    else:  # other objects: by type only (a default repr carries a memory address)
        h.update(f"{type(obj).__module__}.{type(obj).__qualname__}".encode())


def _has_contents(cell: Any) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:  # an empty cell
        return False
    return True
