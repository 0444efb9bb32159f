"""CPU runtimes for the embedding forward: ONNX Runtime, int8 dynamic quantisation, torch.compile vs eager fp32.

The model is the product's (efficientnet_lite0 trunk, multi-scale pooling, 256-d head; an untrained
head costs what a trained one costs). Every variant runs on 2 threads, at batch 16 (the CPU plan's
batch) and batch 1 (a query), interleaved round by round with eager fp32 so background load hits
them alike; the result is images/s over eager's. Agreement: cosine of each variant's embedding of
32 real paintings with eager fp32's (min over the paintings). Adoption rule (issue 17): >= 1.3x
faster with cosine >= 0.999. onnx/onnxruntime are optional here: a variant whose package is
missing is reported as skipped.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_indexing import toy_images
from benchmarks.common import artdata_images, cli_args, interleaved, log, save_result, table
from benchmarks.models import make_model
from engine.base.runtime import torch_threads

NAME = "cpu_runtime"
SIZES = {"toy": {"repeats": 1, "images": 4, "batches": (2,), "skip": ("torch.compile (inductor)",)},
         "quick": {"repeats": 3, "images": 32, "batches": (16, 1), "skip": ()},
         "full": {"repeats": 7, "images": 32, "batches": (16, 1), "skip": ()}}
THREADS = 2
SPEEDUP, COSINE = 1.3, 0.999


def eager(model):
    import torch

    def forward(x):
        with torch.inference_mode():
            return model(x.contiguous(memory_format=torch.channels_last)).numpy()
    return forward


def onnx_session(model, work: Path, size: int, *, int8: bool, threads: int = THREADS):
    """An ONNX Runtime session of `model` (legacy TorchScript exporter; dynamic batch), optionally int8-quantised."""
    import onnxruntime as ort
    import torch

    path = work / "model.onnx"
    if not path.exists():
        torch.onnx.export(model, (torch.randn(2, 3, size, size),), path, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "b"}, "y": {0: "b"}}, opset_version=17)
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(path, work / "model.int8.onnx", weight_type=QuantType.QUInt8)
        path = work / "model.int8.onnx"
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x.numpy()})[0]


def torch_int8(model):
    """In place: a deep copy would leave multi-scale pooling's forward hooks writing into the original."""
    import torch

    return eager(torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True))


def compiled(model, size: int):
    import torch

    fn = torch.compile(model)
    with torch.inference_mode():  # compile every measured shape now: its cost is the row's setup_s
        for batch in SIZES["full"]["batches"]:
            fn(torch.randn(batch, 3, size, size).contiguous(memory_format=torch.channels_last))
    return eager(fn)


def variants(fresh, work: Path, size: int) -> dict:
    """{name: builder}; each builder returns forward(x: (B,3,S,S) tensor) -> (B, D) numpy; `fresh()` loads
    a new copy of the model (variants that change it in place get their own). A name ending in
    "1 thread" runs, with its eager reference, on one thread (no waiting between threads)."""
    return {
        "onnxruntime fp32": lambda: onnx_session(fresh(), work, size, int8=False),
        "onnxruntime fp32, 1 thread": lambda: onnx_session(fresh(), work, size, int8=False, threads=1),
        "onnxruntime int8 (dynamic)": lambda: onnx_session(fresh(), work, size, int8=True),
        "torch int8 (dynamic, Linear)": lambda: torch_int8(fresh()),
        "torch.compile (inductor)": lambda: compiled(fresh(), size),
    }


def paintings(lm, n: int, work: Path):
    import torch

    from engine.data.imageio import load_rgb

    paths = artdata_images(n) or toy_images(work / "toy", n)
    return torch.stack([lm.transform(load_rgb(p)) for p in paths])


def min_cosine(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.min((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    import torch

    from engine.model.checkpoint import load_model

    size = SIZES[scale]
    work = Path(tempfile.mkdtemp(prefix="bench-cpu-runtime-"))
    torch.set_num_threads(THREADS)
    try:
        path = make_model("efficientnet_lite0", work / "m")
        lm = load_model(path, device="cpu")
        images = paintings(lm, size["images"], work)
        reference = eager(lm.model)
        expected = reference(images)
        fresh = lambda: load_model(path, device="cpu").model  # noqa: E731
        rows = [_measure(name, build, reference, images, expected, size)
                for name, build in variants(fresh, work, lm.input_size).items() if name not in size["skip"]]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"scale": scale, "threads": THREADS, "rule": f">= {SPEEDUP}x eager fp32 with cosine >= {COSINE}", "rows": rows}
    path = save_result(NAME, result, results_dir=results_dir)
    log(table(rows))
    log(f"saved {path}")
    return result


def _measure(name: str, build, reference, images, expected, size: dict) -> dict:
    import torch

    start = time.perf_counter()
    try:
        forward = build()
    except Exception as exc:  # a missing package or an export the runtime cannot run: reported, not fatal
        log(f"{name}: skipped ({type(exc).__name__}: {exc})")
        return {"variant": name, "skipped": f"{type(exc).__name__}: {str(exc)[:120]}"}
    threads = 1 if name.endswith("1 thread") else THREADS
    row = {"variant": name, "threads": threads, "setup_s": round(time.perf_counter() - start, 1),
           "min_cosine": round(min_cosine(forward(images), expected), 6)}
    for batch in size["batches"]:
        x = torch.randn(batch, *images.shape[1:])
        with torch_threads(threads):
            timings = interleaved({"eager": lambda: reference(x), name: lambda: forward(x)}, repeats=size["repeats"])
        row[f"speedup_b{batch}"] = round(timings["eager"].median / timings[name].median, 3)
        row[f"eager_ips_b{batch}"] = round(batch / timings["eager"].median, 1)
    qualifies = [b for b in size["batches"] if row[f"speedup_b{b}"] >= SPEEDUP] if row["min_cosine"] >= COSINE else []
    row["adopt_for_batches"] = ", ".join(map(str, qualifies)) or "none"
    return row


if __name__ == "__main__":
    args = cli_args(__doc__.splitlines()[0])
    run(scale=args.scale, results_dir=args.results)
