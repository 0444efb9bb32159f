"""The home folder: where the catalog, the FAISS index and `models/` live.

Resolution order (CLI.md): `--home DIR`, else `$ENGINE_HOME`, else the platform's user data folder.
The most recently trained model is recorded in `models/CURRENT` and is the default model everywhere.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from engine.base.atomic import atomic_write_text
from engine.base.errors import EngineError

CATALOG_NAME = "catalog.sqlite"
INDEX_NAME = "index.faiss"
MODELS_DIR = "models"
CURRENT_MODEL_FILE = "CURRENT"
DEMO_MODEL_PREFIX = "demo-"  # models/demo-*: `engine demo`'s models, never the default for real work
_MAX_SAME_SECOND = 1000  # model folders one home can start within one second


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Return the home folder (not created)."""
    if home:
        return Path(home).expanduser().resolve()
    env = os.environ.get("ENGINE_HOME")
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("artwork-engine", appauthor=False))


def resolve_catalog_url(root: Path, db: str | None = None) -> str:
    """`--db URL`, else `$ENGINE_DB_URL`, else the SQLite catalog in the home."""
    return db or os.environ.get("ENGINE_DB_URL") or f"sqlite:///{root / CATALOG_NAME}"


@dataclass(frozen=True)
class Home:
    """Paths inside one home folder, and the catalog it works with (resolved once, here)."""

    root: Path
    catalog_url: str = ""  # "": resolve_catalog_url(root), i.e. $ENGINE_DB_URL or the home's own SQLite file

    def __post_init__(self) -> None:
        if not self.catalog_url:
            object.__setattr__(self, "catalog_url", resolve_catalog_url(self.root))

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None, *, db: str | None = None) -> "Home":
        """`--home`/`$ENGINE_HOME`/the user data folder, with `--db`/`$ENGINE_DB_URL`/its own SQLite catalog."""
        root = resolve_home(home)
        return cls(root, resolve_catalog_url(root, db))

    @property
    def own_catalog_url(self) -> str:
        """The home's own SQLite catalog, whatever `--db` or `$ENGINE_DB_URL` say."""
        return f"sqlite:///{self.root / CATALOG_NAME}"

    @property
    def owns_catalog(self) -> bool:
        return self.catalog_url == self.own_catalog_url

    @property
    def models_dir(self) -> Path:
        return self.root / MODELS_DIR

    @property
    def index_path(self) -> Path:
        return self.root / INDEX_NAME

    @property
    def lock_path(self) -> Path:
        return self.root / "index.lock"

    def ensure(self) -> "Home":
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(f"cannot create home folder {self.root}: {exc.strerror}; pass --home DIR") from exc
        return self

    def new_model_dir(self, prefix: str = "") -> Path:
        """Create and return a fresh `models/PREFIX<YYYYmmdd-HHMMSS>[-N]` folder.

        The folder is claimed by an exclusive mkdir (retried with -2, -3, ... when taken), so two
        runs started within the same second, even from two processes, never share a model folder.
        """
        stamp = prefix + dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            self.models_dir.mkdir(parents=True, exist_ok=True)
            for n in range(1, _MAX_SAME_SECOND + 1):
                candidate = self.models_dir / (stamp if n == 1 else f"{stamp}-{n}")
                try:
                    candidate.mkdir()
                    return candidate
                except FileExistsError:
                    continue
        except OSError as exc:
            raise EngineError(f"cannot create a model folder in {self.models_dir}: {exc.strerror}; pass --home DIR or --out") from None
        raise EngineError(f"{_MAX_SAME_SECOND} model folders named {stamp}* already exist in {self.models_dir}; pass --out MODEL_DIR")

    def set_current_model(self, model_path: Path) -> None:
        """Record `model_path` (a model.pt) as the default model of this home."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.models_dir / CURRENT_MODEL_FILE, str(Path(model_path).resolve()) + "\n")

    def current_model(self) -> Path:
        """The default model.pt: the one recorded by the last `engine train`, else the newest one (never a demo's,
        DEMO_MODEL_PREFIX); a clear error when none was trained into this home."""
        pointer = self.models_dir / CURRENT_MODEL_FILE
        if pointer.is_file():
            path = Path(pointer.read_text(encoding="utf-8").strip())
            if path.is_file() and not path.parent.name.startswith(DEMO_MODEL_PREFIX):
                return path
        candidates = sorted((p for p in self.models_dir.glob("*/model.pt") if not p.parent.name.startswith(DEMO_MODEL_PREFIX)),
                            key=lambda p: p.stat().st_mtime)
        if candidates:
            return candidates[-1]
        raise EngineError(
            f"no trained model in {self.models_dir}; run `engine train DATA_DIR --home {self.root}` or pass --model PATH"
        )

    def model_path(self, model: str | os.PathLike[str] | None) -> Path:
        """`--model PATH` (a model.pt or its folder), else the current model."""
        if model is None:
            return self.current_model()
        path = Path(model).expanduser()
        if path.is_dir():
            path = path / "model.pt"
        if not path.is_file():
            raise EngineError(f"model not found: {path}; pass --model PATH to a model.pt written by `engine train`")
        return path
