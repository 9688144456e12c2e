"""The JAX side of bench/data_network.py, run as its own process so that it can use another Python
(one with jax and diffrax, without overflow) and start with JAX on one thread:

    python bench/data_network_jax.py problem.npz out.json

problem.npz holds X (n_in x s), Y (m x s), the layers W_0, W_1, ... (row-major, W_1 of the issue
first), the activation name and the task: "rhs" (seconds per ``jax.grad`` of the squared loss under
``jax.jit``, best of the repeats) or "integrate" (diffrax Dopri5 or Dopri8 on the gradient flow, same
rtol/atol, jitted: median and best time per trajectory, nfev counted in a separate run, the final
state). The loss is overflow's ``of.costs.squared_loss``: 1/2 ||Yhat - Y||_F^2 / s. The result (or
why the peer cannot run) goes to out.json.
"""

from __future__ import annotations

import os
import sys

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
).strip()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

# wall: elapsed time; cpu: this process's CPU time (all its threads), steadier on a loaded machine
CLOCKS = dict(wall=time.perf_counter, cpu=time.process_time)


def _activation(jnp, name):
    table = {"tanh": jnp.tanh, "isru": lambda a: a / jnp.sqrt(1.0 + a * a), "linear": lambda a: a}
    if name not in table:
        raise ValueError(f"no JAX twin for activation {name!r}")
    return table[name]


def build(spec):
    """(jax, jnp, the layers as a tuple of device arrays, loss(Ws))."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    X = jnp.asarray(spec["X"])
    Y = jnp.asarray(spec["Y"])
    sigma = _activation(jnp, str(spec["activation"]))
    s = X.shape[1]

    def loss(Ws):
        H = X
        for W in Ws[:-1]:
            H = sigma(W @ H)
        R = Ws[-1] @ H - Y
        return 0.5 * jnp.sum(R * R) / s

    layers = int(spec["layers"])
    Ws = tuple(jnp.asarray(spec[f"W_{i}"]) for i in range(layers))
    return jax, jnp, Ws, loss


def time_rhs(spec):
    jax, _, Ws, loss = build(spec)
    grad = jax.jit(jax.grad(loss))
    jax.block_until_ready(grad(Ws))  # compile
    best = np.inf
    reps = int(spec["repeats"])
    inner = int(spec["inner"])
    clock = CLOCKS[str(spec["clock"])]
    for _ in range(reps):
        tic = clock()
        for _ in range(inner):
            out = grad(Ws)
        jax.block_until_ready(out)
        best = min(best, (clock() - tic) / inner)
    return dict(seconds=best)


def integrate(spec):
    jax, jnp, Ws, loss = build(spec)
    import diffrax

    grad = jax.grad(loss)
    counter = [0]

    def count(_):
        counter[0] += 1

    def vector_field(counted):
        def vf(t, W, args):
            if counted:
                jax.debug.callback(count, t)
            return jax.tree_util.tree_map(jnp.negative, grad(W))

        return vf

    solver = getattr(diffrax, str(spec["method"]))()
    ctrl = diffrax.PIDController(rtol=float(spec["rtol"]), atol=float(spec["atol"]))
    t1 = float(spec["t1"])

    def make(counted):
        term = diffrax.ODETerm(vector_field(counted))

        @jax.jit
        def solve(W0):
            sol = diffrax.diffeqsolve(
                term,
                solver,
                0.0,
                t1,
                None,
                W0,
                stepsize_controller=ctrl,
                saveat=diffrax.SaveAt(t1=True),
                max_steps=10**6,
            )
            final = tuple(w[-1] for w in sol.ys)
            return final, sol.stats["num_accepted_steps"], sol.stats["num_rejected_steps"], sol.result

        return solve

    solve = make(False)
    out = jax.block_until_ready(solve(Ws))  # compile
    if out[3] != diffrax.RESULTS.successful:
        raise RuntimeError(f"diffrax {spec['method']}: {out[3]}")
    times = []
    clock = CLOCKS[str(spec["clock"])]
    for _ in range(int(spec["repeats"])):
        tic = clock()
        out = jax.block_until_ready(solve(Ws))
        times.append(clock() - tic)
    counted = make(True)
    jax.block_until_ready(counted(Ws))
    jax.effects_barrier()
    final = np.concatenate([np.asarray(w).ravel() for w in out[0]])
    return dict(
        median_s=statistics.median(times),
        best_s=min(times),
        nfev=counter[0],
        steps=int(out[1]) + int(out[2]),
        y_final=final.tolist(),
        loss_final=float(loss(out[0])),
    )


def main(argv):
    spec = dict(np.load(argv[0], allow_pickle=False))
    try:
        import jax
    except ImportError as exc:
        result = dict(skipped=f"jax not importable by {sys.executable} ({exc})")
    else:
        try:
            task = str(spec["task"])
            result = time_rhs(spec) if task == "rhs" else integrate(spec)
            result["versions"] = dict(jax=jax.__version__)
            if task != "rhs":
                import diffrax

                result["versions"]["diffrax"] = diffrax.__version__
        except ImportError as exc:
            result = dict(skipped=f"not importable by {sys.executable}: {exc}")
    with open(argv[1], "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1:])
