"""Library versions recorded in every artefact."""

from __future__ import annotations

import platform
from importlib import metadata

_PACKAGES = ("torch", "torchvision", "timm", "pytorch-metric-learning", "numpy", "pillow", "scikit-learn")


def library_versions() -> dict[str, str]:
    """{"python": ..., "engine": ..., "<package>": version or "absent"} as plain strings."""
    import engine

    versions = {"python": platform.python_version(), "engine": engine.__version__}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
