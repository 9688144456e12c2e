"""overflow._options: every entry point takes the run options with the same names, defaults,
checks and order (keyword-only after ``method``), the same rtol floor and the same refusal of a
start outside the cost's domain."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest

import overflow as of
from overflow import _options
from overflow.cli import _parser

ENTRY_FUNCTIONS = {
    "integrate": of.integrate,
    "Solver": of.Solver,
    "solve_ivp": of.solve_ivp,
    "monte_carlo": of.monte_carlo,
}


def _net():
    f = of.costs.matrix_factorization(np.diag([3.0, 2.0, 1.0, 0.5]))
    net = of.Network(f, depth=3, width=6)
    return net, net.init(seed=3, scale=0.5)


def _rhs(t, y):
    return -y


# solve_ivp has scipy's signature instead (issue 17): its options come through **options
UNIFORM = sorted(set(ENTRY_FUNCTIONS) - {"solve_ivp"})


def test_solve_ivp_has_scipys_signature():
    import scipy.integrate

    ours = inspect.signature(of.solve_ivp).parameters
    theirs = inspect.signature(scipy.integrate.solve_ivp).parameters
    assert list(ours) == list(theirs)
    assert all(ours[k].default == theirs[k].default for k in theirs if k != "options")


@pytest.mark.parametrize("entry", UNIFORM)
def test_options_are_keyword_only_after_method(entry):
    params = list(inspect.signature(ENTRY_FUNCTIONS[entry]).parameters.values())
    names = [p.name for p in params]
    after = params[names.index("method") + 1 :]
    assert after and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in after), entry
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params[: names.index("method") + 1])


@pytest.mark.parametrize("entry", UNIFORM)
def test_signature_defaults_are_the_options_modules(entry):
    params = inspect.signature(ENTRY_FUNCTIONS[entry]).parameters
    for name in ("method", *_options.ENTRY_OPTIONS[entry]):
        assert params[name].default == _options.default(entry, name), (entry, name)


def test_differences_are_explicit_with_a_reason():
    assert _options.default("integrate", "max_norm") == _options.default("monte_carlo", "max_norm") == 1e10
    assert _options.default("solve_ivp", "max_norm") == math.inf  # as scipy: no blow-up stop
    assert _options.default("solve_ivp", "rtol") == 1e-3 and _options.default("solve_ivp", "atol") == 1e-6  # scipy's
    assert _options.default("cli", "rtol") == 1e-8
    for entry, table in _options.DIFFERENCES.items():
        assert entry in _options.ENTRY_POINTS
        for name, (value, why) in table.items():
            assert name in _options.DEFAULTS and value != _options.DEFAULTS[name] and why


def test_cli_defaults_come_from_the_options_module():
    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    cli = _options.defaults("cli")
    for command in ("run", "mc"):
        args = sub[command].parse_args([])
        assert (args.rtol, args.atol, args.gtol, args.t_end, args.max_steps, args.method) == (
            cli.rtol,
            cli.atol,
            cli.gtol,
            cli.t_end,
            cli.max_steps,
            cli.method,
        )


def test_positional_options_are_refused():
    net, Ws = _net()
    with pytest.raises(TypeError):
        of.integrate(net, Ws, (0, 1), "dopri5", 1e-6)
    with pytest.raises(TypeError):
        of.Solver(net, Ws, 0.0, "dopri5", 1e-6)
    with pytest.raises(TypeError):
        of.monte_carlo(net, 2, (0, 1), "dopri5", 1e-6)


def test_solver_takes_integrates_steps_below_the_rtol_floor():
    # rtol = 1e-16 is raised to 100 eps by both, so the steps are the same
    net, Ws = _net()
    with pytest.warns(UserWarning, match="below 100 \\* machine epsilon"):
        ref = of.integrate(net, Ws, (0, 0.5), method="dopri5", rtol=1e-16, atol=1e-14)
    with pytest.warns(UserWarning, match="below 100 \\* machine epsilon"):
        s = of.Solver(net, Ws, method="dopri5", rtol=1e-16, atol=1e-14)
    ys = [s.y]
    while s.step(0.5) == "stepped":
        ys.append(s.y)
    ys.append(s.y)
    assert s.status == "t_end"
    np.testing.assert_array_equal(np.stack(ys), np.concatenate([W.reshape(len(ref.t), -1) for W in ref.weights], 1))
    assert s.stats["naccept"] == ref.naccept and s.stats["nfev"] == ref.nfev


def test_every_entry_point_raises_rtol_to_the_floor_with_a_warning():
    net, Ws = _net()
    calls = {
        "integrate": lambda: of.integrate(net, Ws, (0, 0.01), rtol=1e-17),
        "Solver": lambda: of.Solver(net, Ws, rtol=1e-17),
        "solve_ivp": lambda: of.solve_ivp(_rhs, (0, 0.01), [1.0], rtol=1e-17),
        "monte_carlo": lambda: of.monte_carlo(net, 2, (0, 0.01), rtol=1e-17, progress=False),
    }
    for entry, call in calls.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        # (solve_ivp's is scipy's text: "At least one element of `rtol` is too small")
        floor = [w for w in caught if "machine epsilon" in str(w.message) or "too small" in str(w.message)]
        assert len(floor) == 1, entry
        assert floor[0].filename == __file__, (entry, floor[0].filename)  # points at the caller
    assert of.solve_ivp(_rhs, (0, 0.01), [1.0], rtol=_options.RTOL_FLOOR).success  # at the floor: no warning


def test_a_start_outside_the_domain_is_one_error_everywhere():
    # f(z) = -log z is defined for z > 0 only; the start has z = w2 w1 = -1
    f = of.costs.scalar(lambda z: -math.log(z) if z > 0 else math.nan, lambda z: -1.0 / z, lambda z: 1.0 / z**2)
    net = of.Network(f, depth=2, width=1)
    Ws = [np.array([[1.0]]), np.array([[-1.0]])]
    messages = []
    for call in (lambda: of.integrate(net, Ws, (0, 1)), lambda: of.Solver(net, Ws)):
        with pytest.raises(ValueError, match="not finite at the initial point") as info:
            call()
        messages.append(str(info.value))
    assert messages[0] == messages[1] == _options.START_NOT_FINITE.format(loss=math.nan)


def test_a_non_finite_gradient_at_the_start_is_one_error_everywhere():
    f = of.costs.scalar(lambda z: 0.5 * z * z, lambda z: math.inf if z < 0 else z, lambda z: 1.0)
    net = of.Network(f, depth=2, width=1)
    Ws = [np.array([[1.0]]), np.array([[-1.0]])]
    messages = []
    for call in (lambda: of.integrate(net, Ws, (0, 1)), lambda: of.Solver(net, Ws)):
        with pytest.raises(ValueError, match="gradient is not finite at the initial point") as info:
            call()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_shared_checks_have_one_wording():
    net, Ws = _net()
    calls = {
        "integrate": lambda **kw: of.integrate(net, Ws, (0, 1), **kw),
        "Solver": lambda **kw: of.Solver(net, Ws, **kw),
        "solve_ivp": lambda **kw: of.solve_ivp(_rhs, (0, 1), [1.0], **kw),
        "monte_carlo": lambda **kw: of.monte_carlo(net, 2, (0, 1), progress=False, **kw),
    }
    for entry, call in calls.items():
        for kw, exc, match in (
            *(
                ()
                if entry == "solve_ivp"
                else ((dict(rtol=[1e-6]), TypeError, "rtol must be one positive real number"),)
            ),
            (dict(atol=-1.0), ValueError, "atol must be > 0 and finite, got -1.0"),
            (dict(first_step=0.0), ValueError, "first_step must be > 0"),
            (dict(max_step=math.nan), ValueError, "max_step must be > 0"),
            (dict(method=5), TypeError, "method must be a string"),
            (dict(method="rk4"), ValueError, "unknown method 'rk4'"),
        ):
            with pytest.raises(exc, match=match):
                call(**kw)
        if "max_steps" in _options.ENTRY_OPTIONS[entry]:
            with pytest.raises(ValueError, match="max_steps must be >= 1, got 0"):
                call(max_steps=0)
        if "t_eval" in _options.ENTRY_OPTIONS[entry]:
            with pytest.raises(ValueError, match="t_eval must be strictly increasing"):
                call(t_eval=[0.5, 0.2])


def test_docstrings_carry_the_shared_option_docs():
    for entry, fn in ENTRY_FUNCTIONS.items():
        if entry == "solve_ivp":  # scipy's signature: its options are documented under **options
            continue
        doc = fn.__doc__
        assert "{options" not in doc, entry
        for name in _options.ENTRY_OPTIONS[entry]:
            if name not in ("save_weights", "threads"):
                assert f"\n    {name} : " in doc or f"\n    {name}, " in doc or f", {name} : " in doc, (entry, name)
    assert "(default 1e+10)" in of.integrate.__doc__
    assert "(default None: no\n            cap, as scipy)" in of.solve_ivp.__doc__
    assert "built-in" not in of.solve_ivp.__doc__


def test_the_loss_has_one_name():
    net, Ws = _net()
    res = of.integrate(net, Ws, (0, 0.1))
    assert res.final_loss == res.loss[-1]
    mc = of.monte_carlo(net, 2, (0, 0.1), progress=False)
    assert mc.final_loss.shape == (2,)
    # the core's result classes carry the same names: nothing is renamed between C++ and Python
    cost = net.cost
    sol = of._core.integrate_flow(
        net.dims,
        cost.vg_address,
        cost.hvp_address,
        cost.data,
        "none",
        net.flatten(Ws),
        0.0,
        0.1,
        np.zeros(0),
        of._core.RunOptions(),
    )  # integrate's defaults
    assert sol.final_loss == res.final_loss
    for obj in (sol, of._core.EnsembleSolution):
        assert hasattr(obj, "final_loss") and hasattr(obj, "final_grad_norm") and hasattr(obj, "final_state")
        assert not any(hasattr(obj, old) for old in ("loss_final", "value_final", "grad_norm_final", "y_final"))
