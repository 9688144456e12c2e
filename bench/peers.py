"""Peers for the overflow benchmarks: scipy solve_ivp, numbalsoda, diffrax (JAX CPU).

Every peer is ``run_<peer>(problem, method) -> dict(time_s, nfev, y_final, loss_final, ...)``
where ``problem`` is a dict from ``problems.problem``. ``time_s`` is the wall time of one
trajectory (compilation / JIT warm-up excluded); repeats and statistics live in compare.py.
``prepare_<peer>(problem, method)`` does the untimed part (build/compile the RHS, warm up) and
returns ``go()``, one untimed-setup-free trajectory: compare.py and test_bench.py time that.
A peer that is not installed raises ``PeerUnavailable`` with the reason.

Run ``python bench/peers.py`` for the finite-difference check of every RHS and the RHS timings.

Threads: for a fair comparison with one overflow trajectory (one core) set
OPENBLAS_NUM_THREADS=1 etc. *before* numpy is imported (compare.py does so), or use
``threadpoolctl``. JAX: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` likewise.

The flow (state = layers row-major, W_1 ... W_N):
    dW_i/dt = -(W_N...W_{i+1})^T grad f(P) (W_{i-1}...W_1)^T
computed by prefixes A_i = W_i...W_1 (forward) and back-propagation D_{i-1} = W_i^T D_i,
D_N = -grad f(P), dW_i = D_i A_{i-1}^T (dW_1 = D_1): O(N k^2 max(m, n)) per evaluation.
"""

from __future__ import annotations

import time

import numpy as np

try:  # run as a script (python bench/peers.py) or as a module (bench.peers)
    from . import problems as _pb
except ImportError:  # pragma: no cover
    import problems as _pb


class PeerUnavailable(RuntimeError):
    """The peer (or this combination of peer and problem) cannot run here."""


SCIPY_METHODS = ("RK45", "DOP853")
NUMBALSODA_METHODS = ("dop853", "lsoda")
DIFFRAX_METHODS = ("Dopri5", "Tsit5", "Dopri8")


# =============================================================================== numpy RHS variants
def _neg_grad_numpy(p):
    """Return a function P -> -grad f(P) writing into a preallocated (m, n) buffer."""
    cost = p["cost"]
    m, n = p["dims"][-1], p["dims"][0]
    buf = np.empty((m, n))
    if cost["kind"] == "matrix_factorization":
        T = np.ascontiguousarray(cost["target"], dtype=np.float64)

        def neg_grad(P):
            return np.subtract(T, P, out=buf)
    else:
        c2 = 2.0 * float(cost["c"])

        def neg_grad(P):  # -f'(z) = 2 (c - z)
            buf[0, 0] = c2 - 2.0 * P[0, 0]
            return buf

    return neg_grad


def make_rhs_numpy_naive(p):
    """Textbook version: views per call, fresh arrays for every product (reference / baseline)."""
    shapes = p["shapes"]

    def rhs(t, y):
        Ws = _pb.unflatten(p, y)
        A = [Ws[0]]
        for W in Ws[1:]:
            A.append(W @ A[-1])
        D = -_pb.grad_of_product(p, A[-1])
        out = [None] * len(Ws)
        for i in range(len(Ws) - 1, 0, -1):
            out[i] = D @ A[i - 1].T
            D = Ws[i].T @ D
        out[0] = D
        return np.concatenate([o.ravel() for o in out])

    rhs.shapes = shapes
    return rhs


def make_rhs_numpy_prealloc(p):
    """Preallocated: the state is copied once into a buffer whose per-layer views are fixed,
    all products write with ``out=`` (prefixes, backprop buffers) and the layer derivatives
    are written straight into the returned vector. The cost gradient is negated once
    (D_N = -grad f) so no other negation is needed."""
    shapes = p["shapes"]
    N = len(shapes)
    size = sum(r * c for r, c in shapes)
    n = p["dims"][0]
    ybuf = np.empty(size)
    offs = np.cumsum([0] + [r * c for r, c in shapes])
    W = [ybuf[offs[i] : offs[i + 1]].reshape(shapes[i]) for i in range(N)]
    WT = [w.T for w in W]
    A = [W[0]] + [np.empty((shapes[i][0], n)) for i in range(1, N)]
    AT = [a.T for a in A]
    Dbuf = [np.empty((shapes[i][0], n)) for i in range(N)]  # D_i has shape (k_i, n)
    neg_grad = _neg_grad_numpy(p)
    matmul, copyto, empty = np.matmul, np.copyto, np.empty
    sl = [(int(offs[i]), int(offs[i + 1]), shapes[i]) for i in range(N)]

    def rhs(t, y):
        copyto(ybuf, y)
        for i in range(1, N):
            matmul(W[i], A[i - 1], out=A[i])
        D = neg_grad(A[N - 1])
        dy = empty(size)
        for i in range(N - 1, 0, -1):
            a, b, sh = sl[i]
            matmul(D, AT[i - 1], out=dy[a:b].reshape(sh))
            D = matmul(WT[i], D, out=Dbuf[i - 1])
        a, b, sh = sl[0]
        dy[a:b] = D.ravel()
        return dy

    return rhs


def make_rhs_numpy_unrolled(p):
    """Like ``prealloc`` but the layer loops are generated as straight-line Python code
    (no loop or tuple unpacking at run time): the fewest interpreter bytecodes per call."""
    shapes = p["shapes"]
    N = len(shapes)
    size = sum(r * c for r, c in shapes)
    n = p["dims"][0]
    offs = [int(o) for o in np.cumsum([0] + [r * c for r, c in shapes])]
    ns = dict(np=np, matmul=np.matmul, copyto=np.copyto, empty=np.empty, size=size, neg_grad=_neg_grad_numpy(p))
    ybuf = np.empty(size)
    ns["ybuf"] = ybuf
    lines = ["def rhs(t, y):", "    copyto(ybuf, y)", "    dy = empty(size)"]
    for i in range(N):
        ns[f"W{i}"] = ybuf[offs[i] : offs[i + 1]].reshape(shapes[i])
        ns[f"WT{i}"] = ns[f"W{i}"].T
        ns[f"V{i}"] = None
    ns["A0"] = ns["W0"]
    ns["AT0"] = ns["W0"].T
    for i in range(1, N):
        ns[f"A{i}"] = np.empty((shapes[i][0], n))
        ns[f"AT{i}"] = ns[f"A{i}"].T
        ns[f"D{i - 1}"] = np.empty((shapes[i - 1][0], n))
        lines.append(f"    matmul(W{i}, A{i - 1}, out=A{i})")
    lines.append(f"    D = neg_grad(A{N - 1})")
    for i in range(N - 1, 0, -1):
        lines.append(f"    matmul(D, AT{i - 1}, out=dy[{offs[i]}:{offs[i + 1]}].reshape({shapes[i]}))")
        lines.append(f"    D = matmul(WT{i}, D, out=D{i - 1})")
    lines.append(f"    dy[0:{offs[1]}] = D.ravel()")
    lines.append("    return dy")
    exec("\n".join(lines), ns)
    return ns["rhs"]


NUMPY_RHS_VARIANTS = {
    "naive": make_rhs_numpy_naive,
    "prealloc": make_rhs_numpy_prealloc,
    "unrolled": make_rhs_numpy_unrolled,
}
DEFAULT_NUMPY_RHS = "unrolled"


# =============================================================================== numba RHS (njit + cfunc)
def _numba_layout(p):
    shapes = p["shapes"]
    rows = np.array([r for r, _ in shapes], dtype=np.int64)
    cols = np.array([c for _, c in shapes], dtype=np.int64)
    offs = np.cumsum(np.concatenate([[0], rows * cols])).astype(np.int64)
    n = p["dims"][0]
    # workspace: prefixes A_1..A_{N-1} (k_i x n), backprop D_0..D_{N-1} (k_i x n), -grad (m x n)
    aoffs = np.cumsum(np.concatenate([[0], rows * n])).astype(np.int64)
    return rows, cols, offs, aoffs, n


_NUMBA_CACHE = {}


def _problem_key(p):
    """Hashable identity of what a compiled RHS depends on: shapes, cost kind and parameters,
    t_span and tolerances (the jitted diffrax solves close over them)."""
    cost = p["cost"]
    return (
        tuple(tuple(s) for s in p["shapes"]),
        cost["kind"],
        np.asarray(cost.get("target", np.zeros(1))).tobytes(),
        float(cost.get("c", 0.0)),
        tuple(p.get("t_span", ())),
        p.get("rtol"),
        p.get("atol"),
    )


def make_numba_kernel(p):
    """An njit kernel ``kernel(y, dy, work)`` (work: float64 array of ``work_size``) for problem p.

    Shapes and the target are compile-time constants (frozen globals); matmuls go to BLAS via
    ``np.dot`` on contiguous/transposed views. Returns (kernel, work_size)."""
    import numba as nb

    key = _problem_key(p)
    if key in _NUMBA_CACHE:
        return _NUMBA_CACHE[key]
    rows, cols, offs, aoffs, n = _numba_layout(p)
    N = len(rows)
    m = int(rows[-1])
    A_total = int(aoffs[-1])
    work_size = 2 * A_total
    mf = p["cost"]["kind"] == "matrix_factorization"
    T = np.ascontiguousarray(p["cost"]["target"], dtype=np.float64) if mf else np.zeros((1, 1))
    c = float(p["cost"].get("c", 0.0))

    @nb.njit(cache=False, fastmath=False, boundscheck=False)
    def kernel(y, dy, work):
        A = work[:A_total]  # A_i stored at aoffs[i] (i >= 1); A_0 := W_1 itself
        D = work[A_total : 2 * A_total]
        # forward prefixes
        prev = y[offs[0] : offs[1]].reshape((rows[0], cols[0]))
        for i in range(1, N):
            Wi = y[offs[i] : offs[i + 1]].reshape((rows[i], cols[i]))
            Ai = A[aoffs[i] : aoffs[i + 1]].reshape((rows[i], n))
            np.dot(Wi, prev, Ai)
            prev = Ai
        # D_N = -grad f(P), stored in the D slot of layer N
        Dn = D[aoffs[N - 1] : aoffs[N]].reshape((m, n))
        if mf:
            for a in range(m):
                for b in range(n):
                    Dn[a, b] = T[a, b] - prev[a, b]
        else:
            Dn[0, 0] = 2.0 * (c - prev[0, 0])
        Dcur = Dn
        for i in range(N - 1, 0, -1):
            Wi = y[offs[i] : offs[i + 1]].reshape((rows[i], cols[i]))
            if i - 1 == 0:
                Aprev = y[offs[0] : offs[1]].reshape((rows[0], cols[0]))
            else:
                Aprev = A[aoffs[i - 1] : aoffs[i]].reshape((rows[i - 1], n))
            dWi = dy[offs[i] : offs[i + 1]].reshape((rows[i], cols[i]))
            np.dot(Dcur, Aprev.T, dWi)
            Dnext = D[aoffs[i - 1] : aoffs[i]].reshape((rows[i - 1], n))
            np.dot(Wi.T, Dcur, Dnext)
            Dcur = Dnext
        dW1 = dy[offs[0] : offs[1]]
        D1 = Dcur.ravel()
        for j in range(dW1.shape[0]):
            dW1[j] = D1[j]

    out = (kernel, work_size)
    _NUMBA_CACHE[key] = out
    return out


def make_rhs_numba(p):
    """scipy-callable RHS around the njit kernel (a second 'scipy' variant: scipy + numba RHS)."""
    kernel, ws = make_numba_kernel(p)
    work = np.empty(ws)
    empty = np.empty

    def rhs(t, y):
        dy = empty(y.shape[0])
        kernel(y, dy, work)
        return dy

    rhs(0.0, p["y0"])  # compile
    return rhs


RHS_VARIANTS = dict(NUMPY_RHS_VARIANTS, numba=make_rhs_numba)


def make_numba_cfunc(p):
    """A numbalsoda-style cfunc rhs(t, u*, du*, data*). data[0] counts evaluations;
    data[1:] is the workspace. Returns (cfunc, data_template)."""
    import numba as nb
    from numba import carray, types

    kernel, ws = make_numba_kernel(p)
    size = int(p["y0"].size)
    sig = types.void(
        types.double, types.CPointer(types.double), types.CPointer(types.double), types.CPointer(types.double)
    )

    @nb.cfunc(sig)
    def rhs_c(t, u_, du_, data_):
        u = carray(u_, (size,))
        du = carray(du_, (size,))
        data = carray(data_, (ws + 1,))
        data[0] += 1.0
        kernel(u, du, data[1:])

    return rhs_c, np.zeros(ws + 1)


def _timed(go):
    """Run a prepared solve once and add its wall time."""
    tic = time.perf_counter()
    out = go()
    out["time_s"] = time.perf_counter() - tic
    return out


# =============================================================================== scipy solve_ivp
def prepare_scipy(p, method="RK45", rhs="auto", rtol=None, atol=None):
    """Returns ``go()`` running one scipy solve_ivp trajectory (RHS built once, outside).
    rhs: 'auto' (= DEFAULT_NUMPY_RHS, the fastest numpy variant measured) or one of
    RHS_VARIANTS: 'naive', 'prealloc', 'unrolled' (numpy), 'numba' (njit kernel)."""
    try:
        from scipy.integrate import solve_ivp
    except ImportError as exc:  # pragma: no cover
        raise PeerUnavailable(f"scipy not installed: {exc}") from exc
    name = DEFAULT_NUMPY_RHS if rhs == "auto" else rhs
    fun = RHS_VARIANTS[name](p)
    t0, t1 = p["t_span"]
    rtol = p["rtol"] if rtol is None else rtol
    atol = p["atol"] if atol is None else atol
    y0 = p["y0"]

    def go():
        sol = solve_ivp(fun, (t0, t1), y0.copy(), method=method, rtol=rtol, atol=atol, t_eval=[t1])
        if sol.status != 0:
            raise RuntimeError(f"scipy {method} failed: {sol.message}")
        y = sol.y[:, -1]
        return dict(nfev=int(sol.nfev), y_final=y, loss_final=_pb.loss(p, y), package=f"scipy[{name}]", status="t_end")

    return go


def run_scipy(p, method="RK45", rhs="auto", rtol=None, atol=None):
    return _timed(prepare_scipy(p, method, rhs, rtol, atol))


def reference(p):
    """The tight reference: scipy DOP853, rtol 1e-12, atol 1e-14 (numba RHS for speed)."""
    return run_scipy(p, "DOP853", rhs="numba", rtol=1e-12, atol=1e-14)


# =============================================================================== numbalsoda
_NBSODA_CFUNCS = {}


def prepare_numbalsoda(p, method="dop853", mxstep=10**8):
    """Returns ``go()`` running numbalsoda's dop853 or lsoda with the Numba cfunc RHS (the cfunc
    counts its calls in data[0], which gives nfev). The njit'd driver is warmed up here."""
    try:
        import numbalsoda
    except Exception as exc:
        raise PeerUnavailable(f"numbalsoda not importable: {exc}") from exc
    size = int(p["y0"].size)
    if method == "lsoda" and size > 5000:
        raise PeerUnavailable(
            f"numbalsoda lsoda allocates a dense {size}x{size} Jacobian ({size * size * 8 / 2**30:.0f} GiB): skipped"
        )
    solver = {"dop853": numbalsoda.dop853, "lsoda": numbalsoda.lsoda}[method]
    key = _problem_key(p)
    if key not in _NBSODA_CFUNCS:
        _NBSODA_CFUNCS[key] = make_numba_cfunc(p)
    rhs_c, data0 = _NBSODA_CFUNCS[key]
    address = rhs_c.address
    t0, t1 = p["t_span"]
    t_eval = np.array([t0, t1])
    rtol, atol, y0 = p["rtol"], p["atol"], p["y0"]
    solver(
        address, y0.copy(), np.array([t0, t0 + 1e-6]), data=data0.copy(), rtol=rtol, atol=atol, mxstep=mxstep
    )  # compile the njit'd driver

    def go():
        data = data0.copy()
        usol, ok = solver(address, y0.copy(), t_eval, data=data, rtol=rtol, atol=atol, mxstep=mxstep)
        if not ok:
            raise RuntimeError(f"numbalsoda {method} reported failure")
        y = usol[-1].copy()
        return dict(nfev=int(data[0]), y_final=y, loss_final=_pb.loss(p, y), package="numbalsoda", status="t_end")

    return go


def run_numbalsoda(p, method="dop853"):
    return _timed(prepare_numbalsoda(p, method))


# =============================================================================== diffrax (JAX CPU)
_JAX_CACHE = {}


def _jax():
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        import diffrax
        import jax.numpy as jnp
    except Exception as exc:
        raise PeerUnavailable(f"jax/diffrax not importable: {exc}") from exc
    return jax, jnp, diffrax


def _jax_vector_field(p, jnp, count=None, state="flat"):
    """The flow as a diffrax vector field. state='flat': y is the flat vector (as scipy);
    state='tuple': y is a tuple of layer matrices (no slicing/concatenation per call)."""
    shapes = p["shapes"]
    offs = [int(o) for o in np.cumsum([0] + [r * c for r, c in shapes])]
    N = len(shapes)
    cost = p["cost"]
    T = jnp.asarray(cost["target"]) if cost["kind"] == "matrix_factorization" else None
    c = float(cost.get("c", 0.0))

    def flow(Ws):
        A = [Ws[0]]
        for W in Ws[1:]:
            A.append(W @ A[-1])
        P = A[-1]
        D = (T - P) if T is not None else 2.0 * (c - P)
        out = [None] * N
        for i in range(N - 1, 0, -1):
            out[i] = D @ A[i - 1].T
            D = Ws[i].T @ D
        out[0] = D
        return out

    if state == "tuple":

        def vf(t, y, args):
            if count is not None:
                count()
            return tuple(flow(list(y)))
    else:

        def vf(t, y, args):
            if count is not None:
                count()
            Ws = [y[offs[i] : offs[i + 1]].reshape(shapes[i]) for i in range(N)]
            return jnp.concatenate([o.ravel() for o in flow(Ws)])

    return vf


def diffrax_auto_variant(p):
    """Measured here (2-core EPYC, 1 thread): a flat state is fastest for the small problems
    (a), (b); for (c) (67,584 states) a tuple-of-layers state is 1.5-4x faster than a flat one
    (diffrax's default 'checkpointed' stage loop copies the big stage buffer)."""
    return ("tuple", None) if p["y0"].size > 4096 else ("flat", None)


def _diffrax_solver(p, method, variant, counted=False, max_steps=10**7):
    jax, jnp, diffrax = _jax()
    key = (_problem_key(p), method, variant, counted)
    if key in _JAX_CACHE:
        return _JAX_CACHE[key]
    state, scan_kind = variant
    counter = [0]
    count = None
    if counted:

        def _inc():
            counter[0] += 1

        def count():
            jax.debug.callback(_inc, ordered=False)

    term = diffrax.ODETerm(_jax_vector_field(p, jnp, count, state))
    solver = getattr(diffrax, method)(scan_kind=scan_kind)
    t0, t1 = (float(x) for x in p["t_span"])
    ctrl = diffrax.PIDController(rtol=p["rtol"], atol=p["atol"])

    @jax.jit
    def solve(y0):
        sol = diffrax.diffeqsolve(
            term,
            solver,
            t0=t0,
            t1=t1,
            dt0=None,
            y0=y0,
            stepsize_controller=ctrl,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=max_steps,
            throw=False,
        )
        ys = jax.tree_util.tree_map(lambda a: a[-1], sol.ys)
        return ys, sol.stats["num_steps"], sol.result._value

    out = dict(solve=solve, counter=counter, warm=False)
    _JAX_CACHE[key] = out
    return out


def prepare_diffrax(p, method="Dopri5", variant="auto"):
    """Returns ``go()`` running one jitted diffrax solve on JAX CPU (x64): PIDController(rtol,
    atol), SaveAt(t1=True), dt0=None (diffrax's initial step selection), max_steps 1e7.
    The first prepare per (problem, method, variant) compiles and warms up, untimed.
    variant: 'auto' or (state, scan_kind), state in {'flat', 'tuple'}, scan_kind in
    {None, 'lax', 'bounded'}. ``go()`` returns nfev=None (see ``count_diffrax_nfev``)."""
    jax, jnp, diffrax = _jax()
    if variant == "auto":
        variant = diffrax_auto_variant(p)
    entry = _diffrax_solver(p, method, variant)
    solve = entry["solve"]
    y0 = jnp.asarray(p["y0"]) if variant[0] == "flat" else tuple(jnp.asarray(W) for W in p["Ws"])
    if not entry["warm"]:
        jax.block_until_ready(solve(y0))  # compile + warm up
        entry["warm"] = True

    def go():
        y, nsteps, result = jax.block_until_ready(solve(y0))
        if int(result) != 0:
            raise RuntimeError(f"diffrax {method} failed: result code {int(result)}")
        y = np.asarray(y) if variant[0] == "flat" else np.concatenate([np.asarray(a).ravel() for a in y])
        return dict(
            nfev=None,
            nsteps=int(nsteps),
            y_final=y,
            loss_final=_pb.loss(p, y),
            package=f"diffrax[{variant[0]}]",
            status="t_end",
        )

    return go


def count_diffrax_nfev(p, method="Dopri5", variant="auto"):
    """Exact number of vector-field evaluations: a separate, untimed, jitted run whose vector
    field calls a host callback (jax.debug.callback) each time it is evaluated."""
    jax, jnp, _ = _jax()
    if variant == "auto":
        variant = diffrax_auto_variant(p)
    entry = _diffrax_solver(p, method, variant, counted=True)
    y0 = jnp.asarray(p["y0"]) if variant[0] == "flat" else tuple(jnp.asarray(W) for W in p["Ws"])
    entry["counter"][0] = 0
    jax.block_until_ready(entry["solve"](y0))
    jax.effects_barrier()
    return entry["counter"][0]


def run_diffrax(p, method="Dopri5", variant="auto", count_nfev=True):
    out = _timed(prepare_diffrax(p, method, variant))
    if count_nfev:
        out["nfev"] = count_diffrax_nfev(p, method, variant)
    return out


PREPARE = {"scipy": prepare_scipy, "numbalsoda": prepare_numbalsoda, "diffrax": prepare_diffrax}
RUN = {"scipy": run_scipy, "numbalsoda": run_numbalsoda, "diffrax": run_diffrax}


# =============================================================================== matmul peak
def matmul_peak(nmat=1024, repeats=5):
    """Single-core float64 matmul rate (GFLOP/s) of numpy, best of ``repeats``. One BLAS thread:
    threadpoolctl where installed, else the thread variables compare.py sets before numpy loads."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits

        one_thread = threadpool_limits(limits=1)
    except ImportError:
        one_thread = contextlib.nullcontext()

    rng = np.random.default_rng(0)
    a = rng.standard_normal((nmat, nmat))
    b = rng.standard_normal((nmat, nmat))
    c = np.empty((nmat, nmat))
    with one_thread:
        np.matmul(a, b, out=c)
        best = np.inf
        for _ in range(repeats):
            tic = time.perf_counter()
            np.matmul(a, b, out=c)
            best = min(best, time.perf_counter() - tic)
    return 2.0 * nmat**3 / best / 1e9


def time_rhs(fun, y, repeats=200):
    """Best-of-5 mean time of ``fun(0, y)`` over ``repeats`` calls."""
    fun(0.0, y)
    best = np.inf
    for _ in range(5):
        tic = time.perf_counter()
        for _ in range(repeats):
            fun(0.0, y)
        best = min(best, (time.perf_counter() - tic) / repeats)
    return best


# =============================================================================== sanity check
def _fd_check(seed=1, eps=1e-6):
    """Compare every RHS variant (and the JAX vector field, if present) with minus a central
    finite-difference gradient of g(W) = f(W_N ... W_1) on small random networks."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for dims, cost in (
        ([3, 5, 4, 2], dict(kind="matrix_factorization", target=rng.standard_normal((2, 3)))),
        ([1, 6, 1], dict(kind="scalar_sq", c=1.0)),
        ([4, 4], dict(kind="matrix_factorization", target=rng.standard_normal((4, 4)))),
    ):
        Ws = [rng.standard_normal((dims[i + 1], dims[i])) * 0.7 for i in range(len(dims) - 1)]
        p = dict(dims=dims, shapes=[W.shape for W in Ws], cost=cost, Ws=Ws, y0=np.concatenate([W.ravel() for W in Ws]))
        y = p["y0"]
        g = np.empty_like(y)
        for j in range(y.size):
            e = np.zeros_like(y)
            e[j] = eps
            g[j] = (_pb.loss(p, y + e) - _pb.loss(p, y - e)) / (2 * eps)
        fns = {k: mk(p) for k, mk in RHS_VARIANTS.items()}
        try:
            jax, jnp, _ = _jax()
            vf = _jax_vector_field(p, jnp)
            fns["jax"] = lambda t, yy, vf=vf, jnp=jnp: np.asarray(vf(t, jnp.asarray(yy), None))
            vft = _jax_vector_field(p, jnp, state="tuple")
            fns["jax-tuple"] = lambda t, yy, vft=vft, jnp=jnp, p=p: np.concatenate(
                [np.asarray(a).ravel() for a in vft(t, tuple(jnp.asarray(W) for W in _pb.unflatten(p, yy)), None)]
            )
        except PeerUnavailable as exc:
            print("  (jax vector field not checked:", exc, ")")
        for k, f in fns.items():
            err = np.max(np.abs(f(0.0, y) + g)) / max(1.0, np.max(np.abs(g)))
            worst = max(worst, err)
            print(f"  dims={dims} {cost['kind']:<22} {k:<9} rel. err vs -FD grad = {err:.2e}")
    assert worst < 1e-7, worst
    return worst


if __name__ == "__main__":
    print("RHS vs finite differences:")
    _fd_check()
    print("RHS variants, seconds per evaluation (threads as set in the environment):")
    for name in _pb.PROBLEMS:
        p = _pb.problem(name)
        row = []
        for k, mk in RHS_VARIANTS.items():
            row.append(f"{k}={time_rhs(mk(p), p['y0'], 50 if name == 'c' else 2000) * 1e6:8.2f}us")
        print(f"  ({name})", "  ".join(row))
