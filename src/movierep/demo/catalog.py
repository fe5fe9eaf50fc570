"""The demo's embeddings store: every movie at three levels, and a FAISS index per level.

``movierep embed`` over the corpus' movies (events through CVRL Slow-D + TxE, shots through
E_fixed, windows of shots through E_scene (co-watch)), then ``movierep index`` per level;
``movierep serve OUT/store`` browses it.
"""

from __future__ import annotations

from movierep.demo.paths import Paths
from movierep.demo.presets import DemoPreset
from movierep.demo.scenes import encoder_path
from movierep.demo.stage_calls import check
from movierep.store.embed import embed_catalog
from movierep.store.index import build_index

LEVELS = ("event", "shot", "scene")


def build_store(p: Paths, preset: DemoPreset) -> None:
    """Embed the catalog into ``OUT/store`` and index every level."""
    scene = encoder_path(p, preset.sources[0])
    videos = sorted((p.corpus / "movies").glob("*.mp4"))
    report = embed_catalog(
        videos, p.out / "store", LEVELS, event_checkpoint=p.backbone("cvrl"),
        contextualizer=p.txe("cvrl"), shot_encoder=encoder_path(p, "fixed"),
        scene_encoder=scene, detector=preset.shot_detector,
        frame_cache=str(p.frame_cache), shots=p.shots,
    )  # fmt: skip
    check(report, "store")
    for level in LEVELS:
        print(build_index(p.out / "store", level).summary())
