"""The reference functions and the seed's formulas: algebra as properties, values
against mpmath at 50 digits (an oracle that shares no code with smgrad)."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from smgrad import analytic, functions

EPS = np.finfo(np.float64).eps
mp.mp.dps = 50


def logits(max_rows=4, max_dim=8, bound=50.0):
    shape = st.tuples(st.integers(1, max_rows), st.integers(1, max_dim))
    return shape.flatmap(
        lambda s: arrays(np.float64, s, elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False))
    )


def mp_softmax(row):
    m = max(mp.mpf(float(v)) for v in row)
    e = [mp.exp(mp.mpf(float(v)) - m) for v in row]
    s = mp.fsum(e)
    return [v / s for v in e]


@given(logits(), st.floats(-1e3, 1e3))
def test_softmax_is_shift_invariant(x, c):
    np.testing.assert_allclose(functions.softmax(x + c), functions.softmax(x), rtol=0, atol=1e-12)


@given(logits())
def test_softmax_rows_are_probabilities(x):
    y = functions.softmax(x)
    assert np.all((y >= 0) & (y <= 1))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=0, atol=8 * EPS)


@given(logits())
def test_jacobian_is_symmetric_with_zero_row_sums(x):
    J = analytic.softmax_jacobian(x)
    np.testing.assert_array_equal(J, np.swapaxes(J, -1, -2))
    np.testing.assert_allclose(J.sum(axis=-1), 0.0, rtol=0, atol=8 * EPS)


@given(logits())
def test_jacobian_is_positive_semidefinite_with_null_vector_one(x):
    J = analytic.softmax_jacobian(x)
    eigenvalues = np.linalg.eigvalsh(J)
    assert np.all(eigenvalues >= -16 * EPS)
    np.testing.assert_allclose(J @ np.ones(x.shape[-1]), 0.0, rtol=0, atol=8 * EPS)


@given(logits(), st.integers(0, 2**32 - 1))
def test_vjp_equals_jacobian_transpose_times_g(x, seed):
    g = np.random.default_rng(seed).standard_normal(x.shape)
    J = analytic.softmax_jacobian(x)
    expected = np.einsum("bij,bi->bj", J, g)
    np.testing.assert_allclose(analytic.softmax_vjp(x, g), expected, rtol=1e-12, atol=1e-14 * np.abs(g).max())


@given(logits(), st.integers(0, 2**32 - 1))
def test_cross_entropy_gradient_is_the_chain_rule_through_the_jacobian(x, seed):
    rng = np.random.default_rng(seed)
    t = rng.dirichlet(np.ones(x.shape[-1]), size=x.shape[0]) * rng.uniform(0.5, 2.0)
    y = functions.softmax(x)
    J = analytic.softmax_jacobian(x)
    # dL/dx = J^T (dL/dy) with dL/dy = -t / y, per row; mean over rows.
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(t > 0, -t / y, 0.0)
    assume(np.all(y > 1e-100))  # -t/y is finite: the chain rule can be evaluated
    expected = np.einsum("bij,bi->bj", J, u) / x.shape[0]
    np.testing.assert_allclose(analytic.cross_entropy_grad(x, t), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "row",
    [
        [0.3, -1.2, 2.5, 0.0],
        [1e300, -1e300, 0.0],
        [-1e300, -1e300, -1e300],
        [1000.0, 1001.0, 999.5],
        [-745.0, -700.0, 0.0, 3.0],
        [88.0, 89.0, -104.0],
        [5.0],
    ],
)
def test_softmax_and_cross_entropy_match_mpmath(row):
    x = np.array([row])
    exact = mp_softmax(row)
    y = functions.softmax(x)[0]
    top = max(row)
    for i, v in enumerate(row):
        # Relative accuracy eps * (1 + |x_i - max|), the conditioning of exp.
        assert abs(mp.mpf(float(y[i])) - exact[i]) <= 8 * EPS * (1 + abs(v - top)) * exact[i] + 1e-300
    for k in range(len(row)):
        t = np.eye(len(row))[[k]]
        loss = functions.cross_entropy(x, t)
        exact_loss = -mp.log(exact[k]) if exact[k] > 0 else mp.inf
        if exact_loss == mp.inf or exact_loss > 1e300:
            assert loss == np.inf or loss > 1e300
        else:
            assert abs(mp.mpf(float(loss)) - exact_loss) <= 8 * EPS * (abs(exact_loss) + max(abs(v) for v in row))


@pytest.mark.parametrize("seed", range(5))
def test_jacobian_and_gradient_match_mpmath(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, size=(1, 6))
    t = rng.dirichlet(np.ones(6), size=1)
    y = mp_softmax(x[0])
    # exp turns an absolute rounding of its argument x_i - max(x) into a relative error
    # of y_i, so every value is good to about eps * (1 + spread) relative to y_i.
    accuracy = 8 * EPS * (1 + np.ptp(x))
    J = analytic.softmax_jacobian(x)[0]
    for i in range(6):
        for j in range(6):
            exact = y[i] * ((1 if i == j else 0) - y[j])
            assert abs(mp.mpf(float(J[i, j])) - exact) <= accuracy * y[i], (i, j)
    grad = analytic.cross_entropy_grad(x, t)[0]
    for k in range(6):
        exact = y[k] * mp.fsum(mp.mpf(float(v)) for v in t[0]) - mp.mpf(float(t[0, k]))
        assert abs(mp.mpf(float(grad[k])) - exact) <= accuracy * (y[k] + t[0, k])


def test_no_overflow_or_nan_for_extreme_finite_logits():
    x = np.array([[1e300, -1e300, 1.0], [-1e300, -1e300, -1e300], [1.7e308, -1.7e308, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = functions.softmax(x)
        logy = functions.log_softmax(x)
    assert np.all(np.isfinite(y))
    assert not np.any(np.isnan(logy))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0)


def test_cross_entropy_reductions_and_zero_targets():
    x = np.array([[2.0, -1.0e308, 0.5], [0.0, 1.0, 2.0]])
    t = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    rows = functions.cross_entropy(x, t, "none")
    assert np.all(np.isfinite(rows))  # t = 0 where log y = -inf contributes nothing
    assert functions.cross_entropy(x, t, "mean") == pytest.approx(rows.mean())
    assert functions.cross_entropy(x, t, "sum") == pytest.approx(rows.sum())
    assert functions.cross_entropy(x[0], t[0]) == pytest.approx(rows[0])
    with pytest.raises(ValueError, match="reduction"):
        functions.cross_entropy(x, t, "avg")


def test_cross_entropy_gradient_general_form_for_targets_not_summing_to_one():
    x = np.array([[0.1, 0.7, -0.4]])
    t = np.array([[0.2, 0.3, 0.2]])  # sums to 0.7
    y = functions.softmax(x)
    np.testing.assert_allclose(analytic.cross_entropy_grad(x, t, "sum"), y * 0.7 - t, rtol=1e-15)
    assert not np.allclose(analytic.cross_entropy_grad(x, t, "sum"), y - t)


def test_the_formulas_jacobian_by_rows_is_its_columns_bit_for_bit():
    # The full check builds the formula's columns as rows (the layout it compares in).
    y = functions.softmax(np.random.default_rng(4).standard_normal((3, 500)) * 4)
    cols = np.array([0, 7, 250, 499])
    by_columns = np.moveaxis(analytic.jacobian_block_of(y, slice(None), cols), -1, 0)
    assert np.array_equal(analytic.jacobian_columns(y, cols), by_columns)
    assert np.array_equal(analytic.jacobian_columns(y[1], cols), by_columns[:, 1])  # one row
