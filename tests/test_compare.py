import numpy as np

from smgrad.compare import Comparison, Tolerance


def index_of(shape):
    return lambda p: np.unravel_index(p, shape)


def test_entries_pass_within_atol_plus_rtol():
    c = Comparison()
    a = np.array([1.0, 2.0, 3.0])
    n = np.array([1.0 + 1e-9, 2.0, 3.0 - 1.2e-9])  # allowed: 1e-9 + 3e-10 at the last
    c.add(a, n, Tolerance(atol=1e-9, rtol=1e-10), index_of(a.shape))
    assert c.passed
    assert abs(c.max_abs_error - 1.2e-9) < 1e-15  # 3 - 1.2e-9 is rounded to a multiple of 4.4e-16
    c.add(a, a + 1.4e-9, Tolerance(atol=1e-9, rtol=1e-10), index_of(a.shape))
    assert not c.passed


def test_worst_entries_are_ranked_by_how_far_beyond_their_allowance():
    c = Comparison(keep=2)
    a = np.zeros((2, 3))
    n = np.array([[0.0, 1e-3, 0.0], [5e-3, 0.0, 2e-3]])
    c.add(a, n, Tolerance(atol=np.array([[1e-4], [1e-2]]), rtol=0.0), index_of(a.shape))
    assert not c.passed
    assert [e.index for e in c.worst] == [(0, 1), (1, 0)]
    assert [e.index for e in c.failing] == [(0, 1)]


def test_nan_and_inf_fail_and_zero_over_zero_passes():
    c = Comparison()
    c.add(np.array([0.0, 1.0]), np.array([0.0, 1.0]), Tolerance(0.0, 0.0), index_of((2,)))
    assert c.passed
    c.add(np.array([np.nan]), np.array([1.0]), Tolerance(1.0, 1.0), index_of((1,)))
    assert not c.passed
    assert c.worst[0].deviation == np.inf
    d = Comparison()
    d.add(np.array([np.inf]), np.array([np.inf]), Tolerance(1.0, 0.0), index_of((1,)))
    assert not d.passed


def test_chunks_accumulate():
    c = Comparison()
    c.add(np.zeros(3), np.full(3, 1e-12), Tolerance(1e-10, 0.0), index_of((3,)))
    c.add(np.zeros(2), np.full(2, 1e-8), Tolerance(1e-10, 0.0), lambda p: (p + 3,))
    assert c.count == 5 and not c.passed
    assert c.worst[0].index in {(3,), (4,)}


def test_tied_entries_are_listed_in_index_order_whatever_the_order_they_come_in():
    # A symmetric Jacobian's two halves are equally wrong: the report must not depend on
    # the order argpartition happens to return them in on a given machine.
    a = np.zeros(6)
    n = np.array([0.0, 3e-3, 1e-3, 3e-3, 0.0, 3e-3])
    for order in (np.arange(6), np.arange(6)[::-1]):
        c = Comparison(keep=3)
        c.add(a[order], n[order], Tolerance(1e-4, 0.0), lambda p, order=order: (int(order[p]),))
        assert [e.index for e in c.worst] == [(1,), (3,), (5,)]


def test_comparisons_made_apart_and_merged_in_order_are_the_comparison_made_at_once():
    # Blocks of a large batch are judged on other threads, each into a comparison of its own.
    rng = np.random.default_rng(3)
    parts = []
    for k in range(4):
        a = rng.standard_normal(50)
        n = a + rng.standard_normal(50) * 10.0 ** rng.integers(-12, -6, size=50)
        n[k] = np.nan if k == 2 else n[k]
        parts.append((a, n, Tolerance(np.full(50, 1e-9), 1e-10 * (k + 1)), lambda p, k=k: (k, int(p))))
    together, merged = Comparison(), Comparison()
    for a, n, tol, where in parts:
        together.add(a, n, tol, where)
        block = Comparison()
        block.add(a, n, tol, where)
        merged.merge(block)
    assert not together.passed and together.nonfinite_numerical == 1
    assert repr(vars(merged)) == repr(vars(together))  # repr: NaN fields compare equal


def test_large_strided_and_broadcast_operands_compared_in_slices_as_at_once():
    rng = np.random.default_rng(5)
    a = np.moveaxis(rng.standard_normal((2, 2**18 + 5, 3)), -1, 0)  # strided, rows longer than a slice
    n = a + rng.standard_normal(a.shape) * 1e-12
    n[2, 1, 2**18 + 1] += 1e-6  # in the second slice of a row
    tol = Tolerance(np.full((3, 2, 1), 1e-11), 1e-9, np.full((1, 2, 1), 0.5))  # broadcast
    where = lambda q: tuple(int(i) for i in np.unravel_index(q, a.shape))  # noqa: E731
    sliced, whole = Comparison(), Comparison()
    whole.SLICE = a.size
    sliced.add(a, n, tol, where)
    whole.add(a, n, tol, where)
    assert sliced.count == whole.count == a.size and not sliced.passed
    assert [e.index for e in sliced.failing] == [e.index for e in whole.failing] == [(2, 1, 2**18 + 1)]
    for stat in ("max_ratio", "max_abs_error", "max_rel_error", "max_atol", "resolves"):
        assert getattr(sliced, stat) == getattr(whole, stat), stat
