"""Benchmark: images/s of `engine index --cluster ray` (a local Ray, actor pool) against the single-process path.

Product: `indexer.pipeline.index_folder` with `IndexConfig(cluster="ray")`: the driver scans, hashes
and commits; Ray Data actors (one per core, each loading the model once) decode and run the forward.
Reference, same run, same images and model: `index_folder` in this process (its own measured
inference plan), run before and after the Ray run (the mean is used; the two show the drift).
Ratios (speeds, Ray over single): `ray_vs_single` (embedding stage, Ray start-up included: the honest
overhead at this size), `ray_wall_vs_single` (whole `index_folder` calls: the single path also
measures its inference plan) and `ray_steady_vs_single` (after the first embeddings came back; it
over-counts by up to one block per actor, and on a loaded machine more processes get more CPU).
On one machine Ray cannot beat the single process (same cores, plus serialisation and its daemons);
it exists for many machines, which this benchmark cannot show.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_indexing import subset_folder, toy_images
from benchmarks.common import artdata_images, log, run_script, save_result, table
from benchmarks.models import make_model

NAME = "ray"
SIZES = {"toy": {"images": 8}, "quick": {"images": 200}, "full": {"images": 600}}
BACKBONE = "efficientnet_lite0"


def timed_index(folder: Path, home: Path, model: Path, config) -> dict:
    from indexer.pipeline import index_folder

    started = time.perf_counter()
    result = index_folder(folder, home=home, model=model, config=config)
    return {**result, "wall_s": time.perf_counter() - started}


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    from indexer.config import IndexConfig

    size = SIZES[scale]
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        work = Path(tmp)
        source = artdata_images(size["images"])
        real = len(source) == size["images"]
        folder = subset_folder(source, work / "images") if real else work / "images"
        if not real:
            toy_images(folder, size["images"])
        model = make_model(BACKBONE, work / "model")
        log(f"ray: single-process reference on {size['images']} images")
        before = timed_index(folder, work / "single-a", model, IndexConfig())
        log("ray: --cluster ray")
        on_ray = timed_index(folder, work / "ray", model, IndexConfig(cluster="ray"))
        log("ray: single-process reference again")
        after = timed_index(folder, work / "single-b", model, IndexConfig())
    single = (before["images_per_second"] + after["images_per_second"]) / 2
    info = on_ray["inference"]
    steady = info["steady_images_per_second"]  # after the first embeddings came back (Ray and actors started)
    row = {
        "images": on_ray["embedded"], "single_ips": round(single, 2),
        "single_ips_before_after": [before["images_per_second"], after["images_per_second"]],
        "ray_ips": on_ray["images_per_second"], "ray_steady_ips": round(steady, 2) if steady else None,
        "ray_startup_s": info["startup_s"], "actors": info["actors"], "cpus_per_actor": info["cpus_per_actor"],
        "ray_vs_single": round(on_ray["images_per_second"] / single, 3),
        "ray_steady_vs_single": round(steady / single, 3) if steady else None,
        "single_wall_s": round((before["wall_s"] + after["wall_s"]) / 2, 2), "ray_wall_s": round(on_ray["wall_s"], 2),
    }
    row["ray_wall_vs_single"] = round(row["single_wall_s"] / row["ray_wall_s"], 3)  # whole index_folder calls, as speeds
    result = {"scale": scale, "backbone": BACKBONE, "data": "artdata (first N by name)" if real else "generated JPEGs",
              "config": size, "rows": [row]}
    print(table([row], list(row)))
    save_result(NAME, result, results_dir=results_dir)
    return result


def main(argv=None) -> None:
    run_script(run, __doc__, argv)


if __name__ == "__main__":
    main()
