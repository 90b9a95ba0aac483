"""lib/model.py's forward/backward pair is train.py's loop, bit for bit, and is right."""
import numpy as np

import train
from lib.data import load_splits, minibatches
from lib.gradcheck import check_params
from lib.lecture import PARAMS, backward, forward
from lib.model import init_params, mlp_backward, mlp_forward


def test_train_loop_is_the_lib_pair_bit_for_bit(call, names_txt, tmp_path):
    """The loop in scripts/train.py writes the step out as the lecture's cell; gradient checks,
    gradcheck.py, clamp_bug.py and benchmark.py use lib/model.py's pair. Same steps, same bits."""
    steps, decay_at, lr = 300, 200, 0.1
    code, _, _ = call(train.main, "--steps", steps, "--decay-at", decay_at, "--n-hidden", 16, "--log-every", 100,
                      "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    assert code == 0
    trained = np.load(tmp_path / "m.npz")
    _, _, ((Xtr, Ytr), _, _) = load_splits(3)
    params = init_params(27, 10, 16, 3, np.random.default_rng(42), np.float32)
    batches, lossi = minibatches(Xtr, Ytr, 0, 32, 42), []
    for i in range(steps):
        Xb, Yb = next(batches)
        loss, cache = mlp_forward(params, Xb, Yb)
        grads = mlp_backward(params, cache, Yb)
        for k in params:
            params[k] -= (lr if i < decay_at else lr / 10) * grads[k]
        lossi.append(loss)
    assert np.array_equal(trained["lossi"], np.array(lossi, np.float32))
    for k in PARAMS:
        assert trained[k].dtype == np.float32 and np.array_equal(trained[k], params[k]), k


def test_the_pair_agrees_with_the_lectures_chunked_backward_and_with_central_differences():
    rng = np.random.default_rng(5)
    params = init_params(7, 3, 6, 2, rng)
    Xb, Yb = rng.integers(0, 7, (5, 2)), rng.integers(0, 7, 5)
    loss, cache = mlp_forward(params, Xb, Yb)
    grads = mlp_backward(params, cache, Yb)
    v = forward(**params, Xb=Xb, Yb=Yb)
    chunked = backward(**v)
    assert abs(loss - v["loss"]) < 1e-14
    for k in PARAMS:
        assert np.allclose(grads[k], chunked["d" + k], rtol=1e-10, atol=1e-14), k
    rows = check_params(lambda p: mlp_forward(p, Xb, Yb)[0], params, grads)
    assert [r["name"] for r in rows] == ["d" + k for k in PARAMS] and all(r["ok"] for r in rows)
