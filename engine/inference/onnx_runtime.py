"""The embedding forward on ONNX Runtime: an option (`ENGINE_RUNTIME=onnx`), adopted from benchmark 7.

On this project's 2-core CPU, ONNX Runtime ran the efficientnet_lite0 embedder 2.3-2.6x (batch 16) and 2.6-3x
(one image) faster than eager torch on one thread, with cosine 1.000000 to torch's embeddings
(BENCHMARKS.md, "CPU inference runtime"). It is optional (`pip install onnxruntime onnx`), so torch
stays the default. The model is exported once per fingerprint and input size to the user cache folder
(torch's TorchScript-based exporter, dynamic batch; multi-scale pooling's hooks are traced into the
graph) and run through a module with the same call contract: (B,3,S,S) tensor -> (B,D) tensor.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import warnings
from pathlib import Path

import torch
from torch import nn

from engine.base.atomic import atomic_path
from engine.base.errors import EngineError
from engine.model.checkpoint import LoadedModel

logger = logging.getLogger(__name__)

RUNTIMES = ("torch", "onnx")
OPSET = 17
_export_lock = threading.Lock()


def resolve_runtime(runtime: str | None = None) -> str:
    """`runtime`, else $ENGINE_RUNTIME, else "torch"; EngineError for an unknown name."""
    name = (runtime or os.environ.get("ENGINE_RUNTIME") or "torch").strip().lower()
    if name not in RUNTIMES:
        raise EngineError(f"unknown runtime {name!r} (ENGINE_RUNTIME); use one of {', '.join(RUNTIMES)}")
    return name


def with_runtime(lm: LoadedModel, runtime: str | None = None, *, cache_dir: Path | None = None) -> LoadedModel:
    """`lm` itself for torch; for onnx, a copy whose `model` runs on ONNX Runtime (CPU only)."""
    if resolve_runtime(runtime) == "torch":
        return lm
    if lm.device.type != "cpu":
        logger.info("ENGINE_RUNTIME=onnx applies to the CPU; keeping torch on %s", lm.device)
        return lm
    ort = _onnxruntime()
    path = exported(lm, cache_dir or _cache_dir())
    return dataclasses.replace(lm, model=OnnxForward(ort, path))


class OnnxForward(nn.Module):
    """An ONNX Runtime session behind nn.Module's call: (B,3,S,S) float tensor -> (B,D) float tensor.
    One intra-op thread per run: concurrency comes from the inference plan's streams (a session runs
    concurrent calls safely)."""

    def __init__(self, ort, path: Path) -> None:
        super().__init__()
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self.session.run(None, {"images": x})[0])


def exported(lm: LoadedModel, cache_dir: Path) -> Path:
    """`cache_dir/<fingerprint[:16]>-<input size>.onnx`, exported (atomically) on first use."""
    path = cache_dir / f"{lm.fingerprint[:16]}-{lm.input_size}.onnx"
    with _export_lock:
        if not path.is_file():
            logger.info("exporting %s to ONNX (once per model): %s", lm.path, path)
            x = torch.zeros(2, 3, lm.input_size, lm.input_size)
            with atomic_path(path) as tmp, warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
                torch.onnx.export(lm.model, (x,), str(tmp), dynamo=False, opset_version=OPSET,
                                  input_names=["images"], output_names=["embeddings"],
                                  dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}})
    return path


def _onnxruntime():
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxruntime
    except ImportError:
        raise EngineError("ENGINE_RUNTIME=onnx needs ONNX Runtime: pip install 'artwork-engine[onnx]' (or unset ENGINE_RUNTIME)") from None
    return onnxruntime


def _cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("artwork-engine", appauthor=False)) / "onnx"
