"""The ``paper`` profiles of Movies2Scenes' two trainings equal its supplement (§1.1)."""

import pytest

from movierep.errors import UserError
from movierep.recipes import moviesim, scenes
from movierep.train.loop import TrainConfig, sized_for


@pytest.mark.parametrize("world", [1, 8])
def test_scene_moco_paper_batch_is_128_on_any_number_of_processes(world: int) -> None:
    cfg = scenes.resolve("paper")
    train = sized_for(cfg.train, examples=2_500_000, world_size=world)
    assert train.batch_size * world == 128
    assert train.steps == 20 * (2_500_000 // 128)  # 20 epochs over P_scene
    assert train.warmup_steps == 5 * (2_500_000 // 128)  # 5 warm-up epochs
    assert (train.optimizer, train.lr, train.weight_decay) == ("adam", 5e-6, 1e-8)
    assert (cfg.moco.dim, cfg.moco.queue_size, cfg.moco.momentum, cfg.moco.temperature) == (
        128, 65536, 0.999, 0.07,
    )  # fmt: skip
    assert cfg.data.shots_per_scene == 9


@pytest.mark.parametrize("world", [1, 8])
def test_movie_similarity_paper_profile_is_sgd_at_global_batch_256(world: int) -> None:
    cfg = moviesim.resolve("paper")
    train = sized_for(cfg.train, examples=60_000, world_size=world)
    assert train.batch_size * world == 256
    assert train.steps == 20 * (60_000 // 256)
    assert (train.optimizer, train.lr) == ("sgd", 0.1)
    assert cfg.net.cosine is False  # Eq. 1's inner product


def test_cpu_profiles_keep_fixed_steps_and_per_process_batches() -> None:
    for recipe in (moviesim, scenes):
        train = sized_for(recipe.resolve("cpu").train, examples=10_000, world_size=2)
        assert (train.steps, train.batch_size) == (300, 32)
    assert moviesim.resolve("cpu").net.cosine is True


def test_a_global_batch_that_does_not_split_is_refused() -> None:
    with pytest.raises(UserError, match="does not split over 3"):
        sized_for(TrainConfig(global_batch_size=128), examples=1000, world_size=3)
