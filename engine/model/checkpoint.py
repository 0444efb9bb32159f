"""model.pt: save, load (weights_only, validated) and recalibrate a trained embedder.

A checkpoint is a plain dict (no pickled objects): format tag, state_dict, network config,
the full resolved training config, preprocessing, versions, threshold, calibration, attribution
(open-set calibration; older files lack it), metrics and a
fingerprint (sha256 over the weights). `load_baseline` gives the untrained trunk the same face.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from engine.base.atomic import atomic_save
from engine.model.augment import eval_transform
from engine.calibrate.platt import PairCalibration
from engine.model.backbones import get_spec
from engine.base.config import from_plain, to_plain
from engine.base.errors import EngineError
from engine.model.network import NetworkConfig, PooledFeatures, build_network, build_pooled_trunk
from engine.base.versions import library_versions

logger = logging.getLogger(__name__)

FORMAT = "artwork-engine-model"
FORMAT_VERSION = 2  # the newest this engine reads
FULL_FORMAT_VERSION = 1  # every weight in the file
COMPACT_FORMAT_VERSION = 2  # engine.model.compact: the trunk comes from its package
TRUNK_PREFIX = "trunk."


@dataclass(frozen=True)
class LoadedModel:
    """A ready-to-use embedder: `model(transform(img)[None].to(device))` -> (1, D).

    Frozen: the process-wide model cache hands one instance to every caller (threads of a server
    included), so no caller may re-point its fields; `dataclasses.replace` makes a variant.
    """

    model: nn.Module
    transform: Callable[[Any], torch.Tensor]
    input_size: int
    embedding_dim: int
    normalized: bool
    backbone: str
    fingerprint: str
    pair_calibration: PairCalibration | None = None  # the stored threshold and Platt calibration; None: uncalibrated
    attribution: dict | None = None  # engine.calibrate.attribution.AttributionCalibration record
    held_out: dict | None = None  # engine.calibrate.held_out.HeldOutPairs record (cross-fitted calibration pairs)
    config: dict = field(default_factory=dict)
    path: Path | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    preprocessing: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    trained_on: dict | None = None  # engine.data.provenance.training_provenance; None in models saved before it


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def fingerprint(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 over (name, dtype, shape, raw bytes) of every tensor, in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}|{tensor.dtype}|{tuple(state_dict[name].shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(
    path: str | Path,
    *,
    model: nn.Module,
    network: NetworkConfig,
    config: Any = None,
    metrics: dict | None = None,
    threshold: float | None = None,
    calibration: dict | None = None,
    attribution: dict | None = None,
    trained_on: dict | None = None,
) -> str:
    """Write model.pt atomically; returns the fingerprint. `trained_on`: engine.data.provenance's record."""
    state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    spec = get_spec(network.backbone)
    payload = {
        "format": FORMAT,
        "format_version": FULL_FORMAT_VERSION,
        "state_dict": state,
        "network": to_plain(network),
        "config": to_plain(config) if config is not None else {},
        "backbone": network.backbone,
        "embedding_dim": int(network.embedding_dim),
        "normalized": bool(network.normalize),
        "preprocessing": spec.preprocessing(),
        "versions": library_versions(),
        "threshold": None if threshold is None else float(threshold),
        "calibration": to_plain(calibration),
        "attribution": to_plain(attribution),
        "metrics": to_plain(metrics or {}),
        "trained_on": to_plain(trained_on),
        "fingerprint": fingerprint(state),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_save(path, lambda tmp: torch.save(payload, tmp))
    return payload["fingerprint"]


def model_file(path: str | Path) -> Path:
    """A model.pt, or the folder holding one."""
    path = Path(path).expanduser()
    return path / "model.pt" if path.is_dir() else path


def read_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict, loaded with weights_only=True; EngineError when it is not ours."""
    path = model_file(path)
    if not path.is_file():
        raise EngineError(f"model not found: {path}; pass --model PATH to a model.pt written by `engine train`")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise EngineError(
            f"refusing to load {path}: it holds pickled objects beyond plain weights (unsafe); use a model.pt written by `engine train`"
        ) from None
    except Exception as exc:
        raise EngineError(f"{path} is not a model checkpoint ({type(exc).__name__}); use a model.pt written by `engine train`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise EngineError(f"{path} is not a model checkpoint of this engine; use a model.pt written by `engine train`")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise EngineError(f"{path} has checkpoint format {version!r}, this engine reads 1..{FORMAT_VERSION}; upgrade the engine or re-train")
    return data


def load_model(path: str | Path, *, device: str | torch.device | None = None) -> LoadedModel:
    """Load and validate a trained model.pt; the model is in eval mode on `device`."""
    path = model_file(path)
    data = read_checkpoint(path)
    network = network_config(data, path)
    model = build_network(network, pretrained=False)
    state = data.get("state_dict")
    if not isinstance(state, dict):
        raise EngineError(f"{path} has no weights; re-train with `engine train`")
    if data.get("trunk_source"):  # a compact file (engine.model.compact): the trunk comes from its package
        state = restore_state(data, network, path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise EngineError(f"{path}: weights do not match its config ({network.backbone}, {network.embedding_dim}-d): {first}") from None
    if data.get("fingerprint") != fingerprint(state):
        raise EngineError(f"{path}: weights fingerprint mismatch (file damaged or edited); re-train or restore the file")
    _require_finite(state, path)
    return _loaded(model, data, network, path=path, device=resolve_device(device))


def restore_state(data: dict, network: NetworkConfig, path) -> dict[str, torch.Tensor]:
    """The full float32 state of a compact checkpoint: the package's trunk + the stored head."""
    package = package_trunk(network)
    expected = (data.get("trunk_source") or {}).get("fingerprint")
    if fingerprint(package) != expected:
        raise EngineError(f"{path}: the installed {network.backbone} weights are not the ones this model was made with "
                          f"(made with {(data['trunk_source'].get('versions') or {})}); reinstall those package versions")
    head = {k: v.float() if v.is_floating_point() else v for k, v in data["state_dict"].items()}
    return {**{TRUNK_PREFIX + k: v for k, v in package.items()}, **head}


def package_trunk(network: NetworkConfig) -> dict[str, torch.Tensor]:
    """The pooled trunk's ImageNet state, as its backbone package gives it."""
    return {k: v.detach().clone() for k, v in build_pooled_trunk(network, pretrained=True).state_dict().items()}


def _require_finite(state: dict, path: Path) -> None:
    """Refuse weights holding NaN or infinity (a diverged run, or a file edited with its fingerprint
    recomputed): every embedding would be NaN, and nothing downstream could use the model."""
    bad = [name for name, tensor in state.items() if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise EngineError(f"{path}: weights hold NaN or infinite values ({bad[0]}{more}); re-train or restore the file")


def network_config(data: dict, path: Path) -> NetworkConfig:
    try:
        # records written before pooling/input_norm existed used the plain global pool and no input norm
        network = from_plain(NetworkConfig, {"pooling": "avg", "input_norm": False, **data["network"]}).validate()
    except (KeyError, TypeError, ValueError, EngineError) as exc:
        raise EngineError(f"{path}: unreadable network config ({exc}); re-train with `engine train`") from None
    if data.get("backbone") != network.backbone or data.get("embedding_dim") != network.embedding_dim:
        raise EngineError(
            f"{path}: header says {data.get('backbone')}/{data.get('embedding_dim')}-d but config says "
            f"{network.backbone}/{network.embedding_dim}-d; the file is inconsistent, re-train it"
        )
    return network


def _loaded(model: nn.Module, data: dict, network: NetworkConfig, *, path: Path, device: torch.device) -> LoadedModel:
    preprocessing = _stored_preprocessing(data, network, path)
    model = _prepare_for_inference(model, device)
    return LoadedModel(
        model=model,
        transform=eval_transform(preprocessing),
        input_size=preprocessing["input_size"],
        embedding_dim=network.embedding_dim,
        normalized=network.normalize,
        backbone=network.backbone,
        fingerprint=data["fingerprint"],
        pair_calibration=PairCalibration.from_stored(data.get("threshold"), data.get("calibration")),
        attribution=data.get("attribution"),  # absent in models saved before open-set attribution
        held_out=data.get("held_out"),  # absent in models calibrated on val pairs alone
        config=data.get("config") or {},
        path=path,
        device=device,
        preprocessing=preprocessing,
        metrics=data.get("metrics") or {},
        trained_on=data.get("trained_on"),
    )


def _stored_preprocessing(data: dict, network: NetworkConfig, path: Path) -> dict:
    """What the model was trained with (the spec's values fill anything missing)."""
    default = get_spec(network.backbone).preprocessing()
    stored = data.get("preprocessing") or {}
    merged = {**default, **{k: v for k, v in stored.items() if k in default}}
    try:
        merged["input_size"], merged["resize"] = int(merged["input_size"]), int(merged["resize"])
        merged["mean"], merged["std"] = [float(v) for v in merged["mean"]], [float(v) for v in merged["std"]]
    except (TypeError, ValueError):
        raise EngineError(f"{path}: unreadable preprocessing record; re-train with `engine train`") from None
    if len(merged["mean"]) != 3 or len(merged["std"]) != 3 or min(merged["std"]) <= 0 or merged["input_size"] < 8:
        raise EngineError(f"{path}: invalid preprocessing record; re-train with `engine train`")
    return merged


def _prepare_for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    # channels_last is faster for these convnets on CPU too (measured ~15% for lite0 on 2 cores).
    model = model.to(device, memory_format=torch.channels_last).eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def load_baseline(backbone: str, *, weights: str = "imagenet", device: str | torch.device | None = None) -> LoadedModel:
    """The untrained trunk as an embedder: global-pooled ImageNet features, L2-normalised."""
    from engine.model.weights import build_pretrained_trunk

    spec = get_spec(backbone)
    device = resolve_device(device)
    model = _prepare_for_inference(PooledFeatures(build_pretrained_trunk(backbone, weights)), device)
    preprocessing = spec.preprocessing()
    return LoadedModel(
        model=model,
        transform=eval_transform(preprocessing),
        input_size=spec.input_size,
        embedding_dim=spec.feature_dim,
        normalized=True,
        backbone=backbone,
        fingerprint=f"baseline:{backbone}:{weights}",
        config={"backbone": backbone, "weights": weights, "baseline": True},
        device=device,
        preprocessing=preprocessing,
    )


def update_calibration(
    path: str | Path, *, threshold: float, calibration: dict, metrics: dict | None = None, attribution: dict | None = None,
    held_out: dict | None = None,
) -> None:
    """Atomically rewrite model.pt with a new threshold/calibration/attribution calibration and, when
    given, the held-out calibration pairs it was pooled with (weights untouched)."""
    path = model_file(path)
    data = read_checkpoint(path)
    data["threshold"] = float(threshold)
    data["calibration"] = to_plain(calibration)
    if attribution is not None:
        data["attribution"] = to_plain(attribution)
    if held_out is not None:
        data["held_out"] = to_plain(held_out)
    if metrics:
        data["metrics"] = {**(data.get("metrics") or {}), **to_plain(metrics)}
    atomic_save(path, lambda tmp: torch.save(data, tmp))
