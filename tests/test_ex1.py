import inspect
import textwrap

import numpy as np
import pytest

import ex1_backprop_by_hand as ex1
from lib import lecture
from lib.gradcheck import check_forward, statements
from lib.lecture import PARAMS
from lib.model import init_params

TENSORS = 26  # 19 intermediates (all but the loss) and 7 parameters


def table(out):
    return [line for line in out.splitlines() if line.startswith("d") and " | " in line]


def test_default_run_passes_every_row(call, names_txt, tmp_path):
    code, out, _ = call(ex1.main, "--out", tmp_path)
    assert code == 0
    assert "parameters: 4137" in out
    rows = table(out)
    assert len(rows) == TENSORS and all(r.rstrip().split("|")[-1].strip().startswith("ok") for r in rows)
    assert [r.split()[0] for r in rows][:3] == ["dlogprobs", "dprobs", "dcounts_sum_inv"]
    assert "exercise 1: all 26 tensors OK" in out
    loss = float(out.split("loss at init: ")[1].split()[0])
    assert 3.2 < loss < 3.6  # close to -ln(1/27) = 3.2958
    for r in rows:  # every relative error below 1e-7, or a gradient that is exactly zero
        rel = r.split("|")[3].strip()
        assert rel == "zero" or float(rel) < 1e-7
    assert sum(r.split("|")[3].strip() == "zero" for r in rows) == 2  # dlogit_maxes and db1


@pytest.mark.parametrize("shape", [("--batch-size", 2), ("--batch-size", 5, "--n-hidden", 7, "--n-embd", 3,
                                                         "--block-size", 2)])
def test_other_shapes_pass(call, names_txt, shape, tmp_path):
    code, out, _ = call(ex1.main, *shape, "--out", tmp_path)
    assert code == 0 and "all 26 tensors OK" in out


def planted(old, new=None):
    """lib/lecture.py's backward with one line edited: `old` replaced by `new`, or deleted."""
    lines = textwrap.dedent(inspect.getsource(lecture.backward)).splitlines()
    assert sum(old in ln for ln in lines) == 1
    edited = [ln.replace(old, new) if new is not None else "" if old in ln else ln for ln in lines]
    namespace = dict(vars(lecture))
    exec("\n".join(edited), namespace)
    return namespace["backward"]


def small_batch(n=4, seed=0):
    rng = np.random.default_rng(seed)
    params = init_params(6, 3, 5, 2, rng)
    Xb, Yb = rng.integers(0, 6, (n, 2)), rng.integers(0, 6, n)
    return lecture.forward(**params, Xb=Xb, Yb=Yb)


def wrong_rows(backward):
    v = small_batch()
    return {r["name"] for r in check_forward(lecture.forward, v, backward(**v), lecture.STEPS, PARAMS) if not r["ok"]}


def test_the_correct_backward_passes_on_the_small_batch():
    assert wrong_rows(lecture.backward) == set()


def test_checker_catches_a_dropped_branch():
    bad = wrong_rows(planted("branch 2: counts_sum"))
    # dcounts and everything upstream of it is wrong; what lies downstream is still right
    assert {"dcounts", "dnorm_logits", "dlogits", "dh", "dhprebn", "dW1", "dC", "dW2"} <= bad
    assert not bad & {"dlogprobs", "dprobs", "dcounts_sum_inv", "dcounts_sum"}


def test_checker_catches_bessel_dropped_in_the_backward():
    bad = wrong_rows(planted("1 / (n - 1) * np.ones_like(bndiff2)", "1 / n * np.ones_like(bndiff2)"))
    assert {"dbndiff2", "dbndiff", "dhprebn", "dW1"} <= bad and not bad & {"dbnvar", "dhpreact", "dlogits"}


def test_the_checkers_rest_of_forward_is_the_forward_bit_for_bit():
    """The checker re-runs the statements after each step; unperturbed, they reproduce every
    intermediate of forward() exactly, so perturbing one step sees the real forward pass."""
    v = small_batch(n=5, seed=3)
    for k, name in enumerate(lecture.STEPS[:-1]):
        again = statements(lecture.forward, after=name)(v)
        for later in lecture.STEPS[k + 1:]:
            assert np.array_equal(again[later], v[later]), (name, later)
    assert lecture.GRADIENTS == tuple(r["name"] for r in check_forward(
        lecture.forward, v, lecture.backward(**v), lecture.STEPS, PARAMS))


def test_dump_has_every_tensor(call, names_txt, tmp_path):
    path = tmp_path / "ex1.npz"
    code, _, _ = call(ex1.main, "--batch-size", 4, "--n-hidden", 8, "--dump", path, "--out", tmp_path)
    assert code == 0
    z = np.load(path)
    names = list(lecture.STEPS)
    for key in ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "Xb", "Yb"] + names:
        assert key in z.files
    for key in names[:-1] + list(PARAMS):
        assert "d" + key in z.files and z["d" + key].dtype == np.float64
    assert z["dhprebn"].shape == (4, 8) and z["dC"].shape == z["C"].shape
    # the dumped loss is the cross-entropy of the dumped parameters on the dumped batch
    h = np.tanh(z["bngain"] * (z["hprebn"] - z["hprebn"].mean(0)) / np.sqrt(z["hprebn"].var(0, ddof=1) + 1e-5)
                + z["bnbias"])
    logits = h @ z["W2"] + z["b2"]
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert -logp[np.arange(4), z["Yb"]].mean() == pytest.approx(float(z["loss"]), rel=1e-12)


def test_bad_sizes(call, names_txt):
    code, _, err = call(ex1.main, "--batch-size", 1)
    assert code == 2 and "Bessel" in err
    code, _, err = call(ex1.main, "--n-hidden", 0)
    assert code == 2 and "must be > 0" in err
