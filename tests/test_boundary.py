"""The typed boundary between Python and the core: one Status enum (csrc/include/overflow/status.hpp)
whose values the C ABI's OF_* codes are, the run options as `_core.RunOptions` (typed fields), and
one stepping session (session.hpp) behind both `overflow.Solver` and the C ABI's of_solver."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import overflow as of
from overflow import _core
from overflow.montecarlo.chunks import STATUS_NAMES as MC_STATUS_NAMES
from overflow.result import STATUS_NAMES, STATUSES

HERE = Path(__file__).resolve().parent


def _header() -> str:
    return (Path(of.cmake_prefix_path()) / "include" / "overflow" / "overflow.h").read_text()


def _c_enum(name: str) -> dict[str, int]:
    """The enumerators of ``enum name {...}`` in the installed overflow.h."""
    body = re.search(r"enum\s+" + name + r"\s*\{(.*?)\};", _header(), re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    return {k: int(v) for k, v in re.findall(r"(OF_\w+)\s*=\s*(-?\d+)", body)}


def test_status_enum_is_the_c_abis_status_codes():
    codes = _c_enum("of_status")
    members = _core.Status.__members__
    assert {f"OF_{name.upper()}" for name in members} == set(codes)
    for name, member in members.items():
        assert int(member) == codes[f"OF_{name.upper()}"], name
    # Python's names come from the enum, in code order; "stepped" is a step's status, not a run's end
    assert STATUS_NAMES == tuple(sorted(members, key=lambda n: int(members[n])))
    assert MC_STATUS_NAMES == STATUS_NAMES
    assert STATUSES == tuple(n for n in STATUS_NAMES if n != "stepped")
    assert STATUSES == ("converged", "t_end", "event", "blowup", "domain", "max_steps", "failed", "interrupted")


def test_activation_codes_are_the_activation_names():
    # One name per concept: the C ABI's OF_* activation codes are overflow.activations' names.
    codes = _c_enum("of_activation")
    assert {name[len("OF_") :].lower() for name in codes} == set(of.activations.ACTIVATIONS)
    assert sorted(codes.values()) == list(range(len(codes)))  # dense: OF_GELU + 1 is the first unknown code
    assert (codes["OF_LINEAR"], codes["OF_ISRU"], codes["OF_TANH"]) == (0, 1, 2)  # the codes before issue 18


def test_run_options_are_typed():
    o = _core.RunOptions(method="dop853", rtol=1e-8, atol=1e-10, max_steps=7, gtol=1e-3, project=True, threads=2)
    assert (o.method, o.rtol, o.atol, o.max_steps, o.gtol, o.project, o.threads) == (
        "dop853",
        1e-8,
        1e-10,
        7,
        1e-3,
        True,
        2,
    )
    d = _core.RunOptions()  # the core's defaults (csrc/include/overflow/integrate.hpp)
    assert (d.first_step, d.gtol, d.max_norm, d.save_states, d.project, d.events) == (0.0, 0.0, 1e10, True, False, [])
    o.rtol = 3  # an int is a real number
    assert o.rtol == 3.0
    for bad in (
        {"rtol": "1e-6"},
        {"max_steps": 1.5},
        {"method": 3},
        {"project": 1},
        {"save_states": None},
        {"threads": "2"},
        {"events": 5},
        {"no_such_option": 1},
    ):
        with pytest.raises(TypeError):
            _core.RunOptions(**bad)
    with pytest.raises(TypeError):
        _core.RunOptions("dopri5")  # keyword-only
    for field, value in (("project", 1), ("save_states", "yes"), ("max_steps", 2.0), ("atol", None)):
        with pytest.raises(TypeError):
            setattr(o, field, value)
    o.project = np.bool_(False)  # numpy's bool is a bool
    assert o.project is False


def test_solution_is_read_only_and_carries_the_enum():
    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0])), depth=2, width=2)
    y0 = net.flatten(net.init(seed=1, scale=0.5))
    sol = _core.integrate_flow(
        net.dims,
        net.cost.vg_address,
        net.cost.hvp_address,
        net.cost.data,
        "none",
        y0,
        0.0,
        1.0,
        np.zeros(0),
        _core.RunOptions(method="dopri5"),
    )
    assert sol.status == _core.Status.t_end and sol.status.name == "t_end"
    assert sol.t_final == 1.0 and sol.final_loss == sol.loss[-1] and sol.states.shape == (sol.t.size, y0.size)
    for field in ("final_loss", "status", "new_field"):
        with pytest.raises(AttributeError, match="read-only"):
            setattr(sol, field, 0.0)
        with pytest.raises(AttributeError, match="read-only"):
            delattr(sol, field)
    assert sol.final_loss == sol.loss[-1]
    res = of.integrate(net, y0, (0, 1), method="dopri5")
    assert res.status == "t_end" and isinstance(res.status, str)  # the public value stays a name
    np.testing.assert_array_equal(res.final_state, sol.final_state)


def test_flow_solver_steps_return_status_names():
    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0])), depth=2, width=2)
    cost = net.cost
    core = _core.FlowSolver(
        net.dims, cost.vg_address, cost.hvp_address, cost.data, "none", _core.RunOptions(method="dopri5")
    )
    with pytest.raises(RuntimeError, match="not initialised"):
        core.step(1.0)
    core.init(0.0, net.flatten(net.init(seed=2, scale=0.5)))
    with pytest.raises(RuntimeError, match="no step"):
        core.dense(0.0)
    assert core.step(1e-3) in ("stepped", "t_end")  # the enum's names, made once in the core
    with pytest.raises(IndexError, match="outside the last step"):  # std::out_of_range, as OF_ERROR_RANGE
        core.dense(1.0)
    with pytest.raises(ValueError, match="t_bound"):
        core.step(core.t)


def _capi_steps(tmp_path: Path) -> Path:
    """tests/capi_steps.c built against the installed package (liboverflow.a and overflow.h)."""
    compiler = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip("needs a C++ compiler driver on PATH")
    prefix = Path(of.cmake_prefix_path())
    libs = list(prefix.glob("lib*/liboverflow.a"))
    exe = tmp_path / "capi_steps"
    subprocess.run(
        [
            compiler,
            "-x",
            "c",
            str(HERE / "capi_steps.c"),
            "-x",
            "none",
            f"-I{prefix / 'include'}",
            f"-I{HERE.parent / 'csrc' / 'tests'}",  # quadratic_cost.h, the C tests' cost
            str(libs[0]),
            "-lm",
            "-lpthread",
            "-o",
            str(exe),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return exe


@pytest.mark.parametrize("method,event_time", [("dopri5", -1.0), ("dop853", 0.37)])
def test_solver_and_the_c_abi_step_alike(tmp_path, method, event_time):
    """overflow.Solver and the C ABI's of_solver_step (a C program with its own cost) take the same
    steps, return the same statuses, interpolate alike and stop at the same terminal event."""
    exe = _capi_steps(tmp_path)
    T = np.array([[2.0, 0.3, -0.2], [0.1, 1.0, 0.4]])
    net = of.Network(of.costs.matrix_factorization(T), depth=3, width=3)
    y0 = net.flatten(net.init(seed=5, scale=0.5))
    rtol, atol, t_end = 1e-8, 1e-10, 3.0
    codes = _c_enum("of_method")
    stdin = " ".join(
        [
            str(net.depth),
            *map(str, net.dims),
            *(repr(float(v)) for v in (*T.ravel(), *y0)),
            str(codes[f"OF_{method.upper()}"]),
            *(repr(float(v)) for v in (rtol, atol, t_end, event_time)),
        ]
    )
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, timeout=120, check=True)
    lines = [line.split() for line in out.stdout.splitlines()]
    steps = [[float(v) for v in line[1:]] for line in lines if line[0] == "step"]
    dense = [[float(v) for v in line[1:]] for line in lines if line[0] == "dense"]
    events = [float(v) for v in lines[-1][2:]]

    def at_time(t, y):
        return t - 0.37

    at_time.terminal = True
    at_time.direction = 1
    s = of.Solver(net, y0, method=method, rtol=rtol, atol=atol, events=at_time if event_time >= 0 else None)
    names = {int(m): n for n, m in _core.Status.__members__.items()}
    for k, (code, t, loss, *y) in enumerate(steps):
        status = s.step(t_end)
        assert status == names[int(code)], k
        np.testing.assert_allclose([s.t, s.loss], [t, loss], rtol=1e-12, err_msg=f"step {k}")
        np.testing.assert_allclose(s.y, y, rtol=1e-10, atol=1e-13, err_msg=f"step {k}")
        mid, *y_mid = dense[k]
        np.testing.assert_allclose(s.net.flatten(s.dense(mid)), y_mid, rtol=1e-10, atol=1e-13)
    assert s.status == ("event" if event_time >= 0 else "t_end") and len(steps) > 3
    if event_time >= 0:
        assert len(events) == 1 and abs(events[0] - 0.37) < 1e-12
        np.testing.assert_allclose(s.t_events[0], events, rtol=1e-13)
