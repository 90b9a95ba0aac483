import inspect
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

import ex1_backprop_by_hand as ex1
from lib.gradcheck import check_steps, run_steps
from lib.model import PARAM_NAMES, init_params

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
        assert float(r.split("|")[3]) < 1e-7 or "zero" in r


@pytest.mark.parametrize("shape", [("--batch-size", 2), ("--batch-size", 5, "--n-hidden", 7, "--n-embd", 3, "--block-size", 2)])
def test_other_shapes_pass(call, names_txt, shape, tmp_path):
    code, out, _ = call(ex1.main, *shape, "--out", tmp_path)
    assert code == 0 and "all 26 tensors OK" in out


def planted(part, old, new=None):
    """ex1.backward with one line of ex1.<part> edited: `old` replaced by `new`, or deleted."""
    src = textwrap.dedent(inspect.getsource(getattr(ex1, part)))
    lines = src.splitlines()
    assert sum(old in ln for ln in lines) == 1
    edited = [ln.replace(old, new) if new is not None else "" if old in ln else ln for ln in lines]
    namespace = dict(vars(ex1))
    exec("\n".join(edited), namespace)  # the edited part...
    exec(textwrap.dedent(inspect.getsource(ex1.backward)), namespace)  # ...called by a backward that sees it
    return namespace["backward"]


def small_batch(n=4, seed=0):
    rng = np.random.default_rng(seed)
    params = init_params(6, 3, 5, 2, rng)
    Xb, Yb = rng.integers(0, 6, (n, 2)), rng.integers(0, 6, n)
    return run_steps(ex1.FORWARD, SimpleNamespace(Xb=Xb, Yb=Yb, **params))


def wrong_rows(backward):
    v = small_batch()
    return {r["name"] for r in check_steps(ex1.FORWARD, v, backward(v), PARAM_NAMES) if not r["ok"]}


def test_the_correct_backward_passes_on_the_small_batch():
    assert wrong_rows(ex1.backward) == set()


def test_checker_catches_a_dropped_branch():
    bad = wrong_rows(planted("backward_cross_entropy", "branch 2: counts_sum"))
    # dcounts and everything upstream of it is wrong; what lies downstream is still right
    assert {"dcounts", "dnorm_logits", "dlogits", "dh", "dhprebn", "dW1", "dC", "dW2"} <= bad
    assert not bad & {"dlogprobs", "dprobs", "dcounts_sum_inv", "dcounts_sum"}


def test_checker_catches_bessel_dropped_in_the_backward():
    bad = wrong_rows(planted("backward_batchnorm", "/ (n - 1) * dbnvar", "/ n * dbnvar"))
    assert {"dbndiff2", "dbndiff", "dhprebn", "dW1"} <= bad and not bad & {"dbnvar", "dhpreact", "dlogits"}


def test_dump_has_every_tensor(call, names_txt, tmp_path):
    path = tmp_path / "ex1.npz"
    code, _, _ = call(ex1.main, "--batch-size", 4, "--n-hidden", 8, "--dump", path, "--out", tmp_path)
    assert code == 0
    z = np.load(path)
    names = [name for name, _ in ex1.FORWARD]
    for key in ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "Xb", "Yb"] + names:
        assert key in z.files
    for key in names[:-1] + list(PARAM_NAMES):
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
