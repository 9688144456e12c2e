"""A thread that cannot be started is a RuntimeError naming the worker ("could not start worker k
of n: ..."), from monte_carlo(workers=) and integrate(threads=): the threads that did start are
joined, and the process neither aborts nor hangs. Run in a child process whose address space is
limited (RLIMIT_AS) so that only a few thread stacks fit."""

import subprocess
import sys
import textwrap

import pytest

resource = pytest.importorskip("resource")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")

CHILD = textwrap.dedent(r"""
    import re
    import resource

    import numpy as np

    import overflow as of

    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0])), depth=2, width=3)
    Ws = net.init(seed=0)
    # Everything compiled and warmed up before the limit.
    of.integrate(net, Ws, (0, 1), threads=2)
    of.monte_carlo(net, n=4, t_span=(0, 1), workers=2, progress=False)

    with open("/proc/self/statm") as fh:
        mapped = int(fh.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + (256 << 20), resource.getrlimit(resource.RLIMIT_AS)[1]))
    calls = {
        "monte_carlo": lambda: of.monte_carlo(net, n=2000, t_span=(0, 1), workers=2000, chunk=2000, progress=False),
        "integrate": lambda: of.integrate(net, Ws, (0, 1), threads=2000),
    }
    for name, call in calls.items():
        try:
            call()
        except RuntimeError as exc:
            assert re.fullmatch(r"could not start worker \d+ of 2000: .+", str(exc)), str(exc)
            print(name, "RuntimeError:", exc, flush=True)
        else:
            raise SystemExit(f"{name}: all 2000 threads started under the limit")
    # The threads that started were joined: the same calls on 2 threads still work.
    res = of.integrate(net, Ws, (0, 1), threads=2)
    print("after:", res.status, flush=True)
""")


def test_thread_start_failure_is_a_runtime_error(tmp_path):
    # cwd away from the source tree, whose overflow/ has no compiled module (see conftest.py)
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "monte_carlo RuntimeError: could not start worker" in proc.stdout, out
    assert "integrate RuntimeError: could not start worker" in proc.stdout, out
    assert "after: t_end" in proc.stdout, out
