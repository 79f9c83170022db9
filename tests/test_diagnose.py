"""Each diagnosis on values that make exactly that mistake, and none on right values."""

import math

import numpy as np
import pytest
from conftest import EXAMPLES

from smgrad import analytic, diagnose, functions

RNG = np.random.default_rng(3)
X = RNG.normal(0, 2, size=(4, 6))
T = np.eye(6)[RNG.integers(0, 6, size=4)]
G = RNG.standard_normal((4, 6))
Y = functions.softmax(X)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        (functions.log_softmax(X), "log-softmax"),
        (np.exp(X), "not divided by its sum"),
        (functions.softmax(X.T).T, "wrong axis"),
        (functions.softmax(-X), "sign error"),
        (2 * Y, "factor of 2 too large"),
    ],
)
def test_softmax_mistakes(values, fragment):
    assert fragment in diagnose.softmax(values, X)


def test_loss_mistakes():
    mean = functions.cross_entropy(X, T, "mean")
    assert "summed over the batch" in diagnose.cross_entropy(mean * 4, X, T, "mean", False)
    assert "averaged over the batch" in diagnose.cross_entropy(mean, X, T, "sum", False)
    assert "log base 2" in diagnose.cross_entropy(mean / math.log(2), X, T, "mean", False)
    assert "wrong sign" in diagnose.cross_entropy(-mean, X, T, "mean", False)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        (np.eye(6) * (Y * (1 - Y))[..., None, :], "only the diagonal"),
        (-Y[..., :, None] * Y[..., None, :], "diag(y) term is missing"),
        (-analytic.softmax_jacobian(X), "wrong sign"),
        (3 * analytic.softmax_jacobian(X), "constant factor: every entry is 3 times"),
    ],
)
def test_jacobian_mistakes(values, fragment):
    assert fragment in diagnose.jacobian(values, X)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        (G * Y * (1 - Y), "only the diagonal"),
        (Y * G, "<g, y> term is missing"),
        (G, "passed through unchanged"),
        (0.5 * analytic.softmax_vjp(X, G), "factor of 2 too small"),
    ],
)
def test_backward_mistakes(values, fragment):
    assert fragment in diagnose.backward(values, X, G)


def test_gradient_mistakes():
    right = analytic.cross_entropy_grad(X, T, "mean")
    assert "missing the mean" in diagnose.cross_entropy_grad(right * 4, X, T, "mean", False)
    summed = analytic.cross_entropy_grad(X, T, "sum")
    assert "once too often" in diagnose.cross_entropy_grad(summed / 4, X, T, "sum", False)
    assert "wrong sign" in diagnose.cross_entropy_grad(-right, X, T, "mean", False)
    assert "non-target" in diagnose.cross_entropy_grad(np.where(T > 0, right, 0), X, T, "mean", False)
    soft = T * 0.7  # targets summing to 0.7
    assert "y*sum(t) - t" in diagnose.cross_entropy_grad((Y - soft) / 4, X, soft, "mean", False)
    assert "with respect to y" in diagnose.cross_entropy_grad(-T / Y / 4, X, T, "mean", False)


def test_right_values_get_no_diagnosis():
    assert diagnose.softmax(Y, X) is None
    assert diagnose.jacobian(analytic.softmax_jacobian(X), X) is None
    assert diagnose.backward(analytic.softmax_vjp(X, G), X, G) is None
    assert diagnose.cross_entropy_grad(analytic.cross_entropy_grad(X, T), X, T, "mean", False) is None


def test_unrelated_values_get_no_diagnosis():
    assert diagnose.jacobian(RNG.standard_normal((4, 6, 6)), X) is None
    assert diagnose.backward(RNG.standard_normal((4, 6)), X, G) is None


def test_a_factor_is_said_only_where_every_entry_fits_it():
    right = analytic.softmax_vjp(X, G)
    # One entry 0.1 % off in float32 is no constant factor.
    one_off = right.astype(np.float32)
    one_off[1, 2] *= 1.001
    assert diagnose.backward(one_off, X.astype(np.float32), G.astype(np.float32)) is None
    # A factor is said with the digits that tell it from 1.
    assert "every entry is 1.000001 times" in diagnose.backward(right * (1 + 1e-6), X, G)
    # Within rounding of 1, values are right: nothing to say.
    assert diagnose.backward(right * (1 + 1e-12), X, G) is None


def test_a_wrong_scalar_loss_gets_a_cause_only_when_its_factor_names_one():
    mean = functions.cross_entropy(X, T, "mean")
    assert diagnose.cross_entropy(mean * 0.708778, X, T, "mean", False) is None
    assert diagnose.cross_entropy(mean + 0.3, X, T, "mean", False) is None
    assert "summed over the batch" in diagnose.cross_entropy(mean * 4, X, T, "mean", False)


def test_the_overflow_cause_needs_an_overflow(tmp_path):
    import smgrad

    finite = tmp_path / "finite.py"
    finite.write_text(
        "import numpy as np\n"
        "def softmax(x):\n    e = np.exp(x - x.max(-1, keepdims=True))\n    return e / e.sum(-1, keepdims=True)\n"
        "def softmax_backward(x, g):\n    y = softmax(x)\n    right = y * (g - (g * y).sum(-1, keepdims=True))\n"
        "    return right * 1.01 if np.abs(x).max() > 500 else right  # wrong, finitely, at large logits\n"
    )
    report = smgrad.check(str(finite))
    failed = [r for r in report if r.status == "failed"]
    assert {r.scenario for r in failed} == {"overflow"} and {r.name for r in failed} == {"softmax_backward"}
    assert all("exp overflows" not in (r.diagnosis or "") for r in failed)
    shifted = smgrad.check(str(EXAMPLES / "buggy" / "no_max_shift.py"))
    assert any("exp overflows" in (r.diagnosis or "") for r in shifted if r.status == "failed")
