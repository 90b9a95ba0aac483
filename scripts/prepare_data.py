"""Get names.txt and show the lecture's dataset: vocabulary and train/val/test split.

    python scripts/prepare_data.py                 # names.txt: data/, else $NAMES_TXT, else download
    python scripts/prepare_data.py --data my.txt   # any UTF-8 word list, one word per line

Expect, for names.txt and block_size 3: 32033 words, 27 characters, and the lecture's
split of the examples (train / val / test), printed beside ours.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lib.cli import Parser, run
from lib.data import load_splits
from lib.lecture import REFERENCE


def main(argv=None):
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    parser.add_argument("--block-size", type=int, default=3, help="context length (lecture: 3)")
    args = parser.parse_args(argv)

    itos, stoi, ((Xtr, Ytr), (Xva, Yva), (Xte, Yte)) = load_splits(args.block_size, args.data)
    words = sum(int((Y == 0).sum()) for Y in (Ytr, Yva, Yte))  # every word ends with '.'
    print(f"words: {words}   vocabulary: {len(itos)} characters: {''.join(itos)}")
    print(f"examples with block_size {args.block_size}: train {len(Xtr)} / val {len(Xva)} / test {len(Xte)}"
          + (f"   (lecture: {' / '.join(map(str, REFERENCE['split']))})" if args.data is None
             and args.block_size == 3 else ""))


if __name__ == "__main__":
    sys.exit(run(main))
