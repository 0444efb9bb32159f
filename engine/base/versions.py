"""Library versions recorded in every artefact (model.pt, report.json, index.json, the catalog)."""

from __future__ import annotations

import platform
from importlib import metadata

# What a model, a training run and an evaluation depend on.
MODEL_PACKAGES = ("torch", "torchvision", "timm", "pytorch-metric-learning", "numpy", "pillow", "scikit-learn")


def library_versions(packages: tuple[str, ...] = MODEL_PACKAGES, **extra: str) -> dict[str, str]:
    """{"python": ..., "engine": ..., "<package>": version or "absent", **extra} as plain strings.

    `packages` are distribution names (read from installed metadata, so nothing is imported);
    `extra` adds values metadata cannot give (the faiss build, the platform).
    """
    import engine

    versions = {"python": platform.python_version(), "engine": engine.__version__}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    versions.update(extra)
    return versions
