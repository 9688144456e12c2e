"""Write csrc/src/tableau_data.cpp: the coefficients of the explicit RK methods as plain data.

Sources: Bogacki-Shampine 3(2) and Dormand-Prince 5(4) with Shampine's dense output, and
Hairer's DOP853 8(5,3) with its 7th-order dense output, as published by their authors (the
values are read from scipy's transcription of them); Tsitouras 5(4) (Comput. Math. Appl. 62,
2011) with its 4th-order interpolant. Dense output is stored as one polynomial per stage slot:
y(t0 + theta h) = y0 + h * sum_i K_i * sum_p D[i][p] theta^(p+1), which turns DOP853's nested
form into the same data as the others. Run: python tools/generate_tableaux.py
"""
from __future__ import annotations

import pathlib

import numpy as np
from numpy.polynomial import polynomial as npoly
from scipy.integrate._ivp import dop853_coefficients as d853
from scipy.integrate._ivp.rk import RK23, RK45

OUT = pathlib.Path(__file__).resolve().parents[1] / "csrc" / "src" / "tableau_data.cpp"


def scipy_rk(cls):
    s = cls.n_stages
    return dict(order=cls.order, error_order=cls.error_estimator_order, stages=s,
                c=cls.C, a=cls.A, b=cls.B, e=cls.E, e_low=None,
                extra_c=np.zeros(0), extra_a=np.zeros((0, s + 1)), dense=cls.P,
                dense_order=cls.P.shape[1] if cls.order == 3 else 4)


def tsit5():
    c = np.array([0.0, 0.161, 0.327, 0.9, 0.9800255409045096857298102862870245954942, 1.0])
    a = np.zeros((6, 6))
    a[1, 0] = 0.161
    a[2, :2] = [-0.8480655492356988544426874250230774675121e-2, 0.3354806554923569885444268742502307746751]
    a[3, :3] = [2.897153057105493432130432594192938764924, -6.359448489975074843148159912383825625952,
                4.362295432869581411017727318190886861027]
    a[4, :4] = [5.325864828439256604428877920840511317836, -11.74888356406282787774717033978577296188,
                7.495539342889836208304604784564358155658, -0.9249506636175524925650207933207191611349e-1]
    a[5, :5] = [5.861455442946420028659251486982647890394, -12.92096931784710929170611868178335939541,
                8.159367898576158643180400794539253485181, -0.7158497328140099722453054252582973869127e-1,
                -0.2826905039406838290900305721271224146717e-1]
    b = np.array([0.9646076681806522951816731316512876333711e-1, 0.01,
                  0.4798896504144995747752495322905965199130, 1.379008574103741893192274821856872770756,
                  -3.290069515436080679901047585711363850115, 2.324710524099773982415355918398765796109])
    bhat = np.array([0.9468075576583945807478876255758922856117e-1, 0.9183565540343253096776363936645313759813e-2,
                     0.4877705284247615707855642599631228241516, 1.234297566930478985655109673884237654035,
                     -2.707712349983525454881109975059321670689, 1.866628418170587035753719399566211498666,
                     1.0 / 66.0])
    e = np.append(b, 0.0) - bhat
    # Interpolant b_i(theta) = sum_p r[i][p] theta^(p+1) (Tsitouras 2011, expanded).
    dense = np.array([
        [1.0, -2.763706197274826, 2.9132554618219126, -1.0530884977290216],
        [0.0, 0.13169999999999998, -0.2234, 0.1017],
        [0.0, 3.9302962368947516, -5.941033872131505, 2.490627285651253],
        [0.0, -12.411077166933676, 30.33818863028232, -16.548102889244902],
        [0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
        [0.0, -27.896526289197286, 65.09189467479366, -34.87065786149661],
        [0.0, 1.5, -4.0, 2.5],
    ])
    return dict(order=5, error_order=4, stages=6, c=c, a=a, b=b, e=e, e_low=None,
                extra_c=np.zeros(0), extra_a=np.zeros((0, 7)), dense=dense, dense_order=4)


def dop853():
    s = d853.N_STAGES  # 12 stages; slot 12 is f(y_new); slots 13-15 are the dense-output stages
    nslots = d853.N_STAGES_EXTENDED
    # K-slot coefficient vectors (times h) of scipy's F_0..F_6, then expand
    # x(F0 + (1-x)(F1 + x(F2 + (1-x)(F3 + x(F4 + (1-x)(F5 + x F6)))))) into monomials.
    dy = np.zeros(nslots)
    dy[:s] = d853.B
    f_old = np.zeros(nslots)
    f_old[0] = 1.0
    f_new = np.zeros(nslots)
    f_new[s] = 1.0
    F = [dy, f_old - dy, 2 * dy - (f_new + f_old)] + [d853.D[j] for j in range(4)]
    poly = np.zeros((nslots, 1))
    for i, f in enumerate(reversed(F)):
        poly = np.array([npoly.polyadd(poly[k], [f[k]]) for k in range(nslots)], dtype=object)
        factor = [0.0, 1.0] if i % 2 == 0 else [1.0, -1.0]
        poly = [npoly.polymul(p, factor) for p in poly]
        width = max(len(p) for p in poly)
        poly = np.array([np.pad(p, (0, width - len(p))) for p in poly])
    assert np.allclose(poly[:, 0], 0.0)
    dense = poly[:, 1:]
    # DOP853's blended estimate err5^2 / sqrt(err5^2 + 0.01 err3^2) scales like h^8: Hairer's
    # dop853.f steers it with exponent 1/8, i.e. as an order-7 estimate.
    return dict(order=8, error_order=5, control_order=7, stages=s, c=d853.C[:s], a=d853.A[:s, :s], b=d853.B,
                e=d853.E5, e_low=d853.E3, extra_c=d853.C[s + 1:],
                extra_a=d853.A[s + 1:, :], dense=dense, dense_order=7)


def fmt(values) -> str:
    vals = [repr(float(v)) for v in np.asarray(values, dtype=float).ravel()]
    lines = []
    for i in range(0, len(vals), 4):
        lines.append("    " + ", ".join(vals[i:i + 4]) + ",")
    return "{\n" + "\n".join(lines) + "\n}" if vals else "{}"


def emit(name: str, t: dict) -> str:
    s = t["stages"]
    a = np.zeros((s, s))
    given = np.asarray(t["a"])[:s, :s]
    a[:, : given.shape[1]] = given  # scipy stores RK45's A without its all-zero last column
    e_low = t["e_low"] if t["e_low"] is not None else []
    extra_c = np.asarray(t["extra_c"])
    extra_a = np.asarray(t["extra_a"])
    nextra = len(extra_c)
    extra_a = extra_a[:, : s + 1 + nextra] if nextra else extra_a
    dense = np.asarray(t["dense"])
    return f"""
Tableau make_{name}() {{
  Tableau t;
  t.name = "{name}";
  t.order = {t['order']};
  t.error_order = {t['error_order']};
  t.control_order = {t.get('control_order', t['error_order'])};
  t.stages = {s};
  t.c = {fmt(t['c'])};
  t.a = {fmt(a)};
  t.b = {fmt(t['b'])};
  t.e = {fmt(t['e'])};
  t.e_low = {fmt(e_low)};
  t.extra_stages = {nextra};
  t.extra_c = {fmt(extra_c)};
  t.extra_a = {fmt(extra_a)};
  t.dense_degree = {dense.shape[1]};
  t.dense_order = {t['dense_order']};
  t.dense = {fmt(dense)};
  return t;
}}
"""


def main() -> None:
    methods = {"bs3": scipy_rk(RK23), "dopri5": scipy_rk(RK45), "tsit5": tsit5(), "dop853": dop853()}
    body = "".join(emit(k, v) for k, v in methods.items())
    OUT.write_text(
        "// Generated by tools/generate_tableaux.py from the methods' published coefficients: do not edit.\n"
        "#include \"overflow/tableau.hpp\"\n\nnamespace overflow::detail {\n"
        + body
        + "\n}  // namespace overflow::detail\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
