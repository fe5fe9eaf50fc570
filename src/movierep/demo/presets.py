"""How big one demo run is: the corpus, every training's steps, every head's runs.

``demo`` (the default, ``make demo``) is sized to finish in 15 minutes on 2 CPU cores;
``tiny`` runs every stage on a 4-movie corpus in CI. Neither is the papers' scale: the
``paper`` profiles of the recipes are (``movierep train ... --profile paper``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoPreset:
    """Sizes of one demo run.

    Attributes:
        corpus: the corpus preset (:data:`movierep.corpus.presets.PRESETS`) and overrides.
        shot_detector: ``transnetv2`` or ``scenedetect`` (PySceneDetect's fast path).
        backbone_steps: steps of each backbone recipe (``cvrl``, ``modist``, ``supervised``).
        txe_steps: TxE mask-prediction steps.
        image_steps: E_fixed (the image encoder standing in for CLIP) SimCLR steps.
        moviesim_steps: shot-adjacency (movie-similarity) steps per similarity source.
        scene_steps: scene MoCo steps per similarity source.
        sources: the movie-similarity sources of Movies2Scenes Tables 2-6.
        runs: seeded runs of each head, per protocol.
        srl_steps: TxD steps per run (roles).
        ot_epochs: Object Transformer epochs per run.
        ot_pretrain_steps: masked-instance pretraining steps (OT's instance pretraining).
        ablation_txe_steps: TxE steps of each hier-SSL Table 2 variant (``--ablations``).
        sources: the movie-similarity sources (Movies2Scenes Tables 2-6).
        workers: processes rendering the corpus.
        sets: per recipe, ``--set`` overrides (the tiny corpus needs smaller batches).
        head_steps: Adam steps of every task head (None: each protocol's own).
    """

    corpus: dict[str, object]
    shot_detector: str
    backbone_steps: dict[str, int]
    txe_steps: int
    image_steps: int
    moviesim_steps: int
    scene_steps: int
    runs: dict[str, int]
    srl_steps: int
    ot_epochs: float
    ot_pretrain_steps: int
    ablation_txe_steps: int
    sources: tuple[str, ...] = ("cowatch", "genre", "synopsis")
    workers: int = 2
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    head_steps: int | None = None

    def overrides(self, recipe: str) -> tuple[str, ...]:
        """Extra ``--set`` overrides of one recipe (``image``, ``moviesim``, ``scenes``...)."""
        return self.sets.get(recipe, ())


PRESETS: dict[str, DemoPreset] = {
    "tiny": DemoPreset(
        corpus={"preset": "tiny", "movies": 12, "minutes": 0.3},
        shot_detector="scenedetect",
        backbone_steps={"cvrl": 6, "modist": 6, "supervised": 6},
        txe_steps=40,
        image_steps=6,
        moviesim_steps=6,
        scene_steps=4,
        runs={"vidsitu": 2, "srl": 2, "lvu": 2, "ot": 2, "movienet": 2, "moderation": 2},
        srl_steps=20,
        ot_epochs=0.5,
        ot_pretrain_steps=4,
        ablation_txe_steps=20,
        head_steps=40,
        sets={
            "image": ("train.batch_size=16",),
            "moviesim": (
                "train.batch_size=4",
                "pairs.k=1",
                "net.scene_kernel=2",
                "net.scene_stride=1",
            ),
            "scenes": ("train.batch_size=2", "moco.queue_size=16"),
            "txe": ("train.batch_size=4",),
        },
    ),
    # 15 minutes on 2 CPU cores: every mechanism, at sizes where the heads' seeded runs are
    # few (2-5) and the pretraining short; the recipes' cpu profiles train longer.
    "demo": DemoPreset(
        corpus={"preset": "demo", "movies": 60, "minutes": 0.5},
        shot_detector="scenedetect",
        backbone_steps={"cvrl": 90, "modist": 50, "supervised": 100},
        txe_steps=450,
        image_steps=80,
        moviesim_steps=40,
        scene_steps=25,
        runs={"vidsitu": 5, "srl": 2, "lvu": 2, "ot": 2, "movienet": 2, "moderation": 3},
        srl_steps=100,
        ot_epochs=1.0,
        ot_pretrain_steps=30,
        ablation_txe_steps=450,
        head_steps=200,
        sets={"image": ("train.batch_size=32",)},
    ),
}
