"""Sample names from a checkpoint written by scripts/train.py.

    python scripts/sample.py                          # 20 names from data/model.npz
    python scripts/sample.py -n 50 --temperature 0.8  # more, and more conservative

The checkpoint is a plain .npz (C, W1, b1, W2, b2, bngain, bnbias, the calibrated
bnmean and bnvar, and the vocabulary itos), so this needs nothing from training.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib import checkpoint
from lib.cli import Parser, positive, run, seed_arg
from lib.data import ROOT
from lib.lecture import PARAMS
from lib.model import sample_names


def main(argv=None):
    parser = Parser(description="Sample names from a trained checkpoint.")
    parser.add_argument("--checkpoint", default=os.path.join(ROOT, "data", "model.npz"),
                        help="checkpoint (default data/model.npz)")
    parser.add_argument("-n", "--count", type=positive(int), default=20, help="how many names (default 20)")
    parser.add_argument("--seed", type=seed_arg, default=2147483647 + 10, help="seed of the sampling")
    parser.add_argument("--temperature", type=positive(float), default=1.0,
                        help="divides the logits: below 1 more likely names, above 1 wilder ones (default 1)")
    args = parser.parse_args(argv)

    z = checkpoint.load(args.checkpoint)
    params = {k: z[k] for k in PARAMS}
    itos = [str(s) for s in z["itos"]]
    rng = np.random.default_rng(args.seed)  # the lecture's sampling seed, 2147483647 + 10
    for _ in range(args.count):  # one at a time: `| head` and Ctrl-C get the names drawn so far
        print(sample_names(params, z["bnmean"], z["bnvar"], itos, 1, rng, args.temperature)[0], flush=True)


if __name__ == "__main__":
    sys.exit(run(main))
