"""The cost of `engine verify --explain`: an explained verify against a plain one, in the same run.

Both through the library calls of the CLI (engine.inference.verify.verify_pair; the explained one also
writes the PNG), interleaved A B A B so background load hits them alike, on two real paintings with the
given model; the result is the ratio explained / plain.

    python benchmarks/explain.py --model /tmp/h25/models/current [--a A.jpg --b B.jpg]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.common import ARTDATA, RESULTS_DIR, interleaved, save_result
from engine.inference.explain import explain_method
from engine.inference.model_cache import cached_model
from engine.inference.verify import verify_pair


def run(model: str, a: Path, b: Path, *, repeats: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "explained.png"
        timings = interleaved({"plain": lambda: verify_pair(a, b, model=model),
                               "explained": lambda: verify_pair(a, b, model=model, explain=out)}, repeats=repeats)
    lm = cached_model(model)
    return {"model": str(model), "method": explain_method(lm), "a": str(a), "b": str(b), "repeats": repeats,
            "plain_s": timings["plain"].median, "explained_s": timings["explained"].median,
            "ratio": timings["explained"].median / timings["plain"].median}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--a", type=Path, default=ARTDATA / "train" / "Rembrandt_1.jpg")
    parser.add_argument("--b", type=Path, default=ARTDATA / "train" / "Vincent_van_Gogh_1.jpg")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    result = run(args.model, args.a, args.b, repeats=args.repeats)
    print(f"verify: plain {result['plain_s']:.3f} s, explained ({result['method']}) {result['explained_s']:.3f} s: "
          f"x{result['ratio']:.2f} (median of {args.repeats}, interleaved, same run)")
    print(f"saved {save_result('explain', result, results_dir=args.results)}")


if __name__ == "__main__":
    main()
