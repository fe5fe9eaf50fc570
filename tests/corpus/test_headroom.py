"""Headroom: verbs are learnable from motion, not from still pixels.

A linear probe on raw pixels (four 16x9 thumbnails of the 2 s event) must do clearly
worse than the same probe on ground-truth attributes (the agent's pose trajectory and
its offset to the patient), so learned video features have room to beat pixels.
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from movierep.corpus.make import plan_movie, renderer
from movierep.corpus.presets import resolve_options

SAMPLES = 8  # pose samples per event


def _features(movies: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    options = resolve_options("tiny", movies=movies, minutes=1.0)
    pixels, attributes, verbs, groups = [], [], [], []
    for index in range(movies):
        script, staging = plan_movie(index, options, seed=0)
        frames = renderer(script, staging, seed=0)
        fpe = script.frames_per_event
        for event in script.events:
            scene = script.scenes[event.scene_index]
            local = (event.index - scene.start_event) * fpe
            poses = staging.poses[event.scene_index][local : local + fpe]
            poses = poses[np.linspace(0, fpe - 1, SAMPLES).astype(int)]
            agent = poses[:, scene.characters.index(event.agent)].copy()
            agent[:, :2] = (agent[:, :2] - agent[:1, :2]) / staging.height
            patient = np.zeros((SAMPLES, 6))  # offset to the agent, then scale/angle/squash/facing
            if event.patient is not None:
                patient = poses[:, scene.characters.index(event.patient)].copy()
                patient[:, :2] -= poses[:, scene.characters.index(event.agent), :2]
                patient[:, :2] /= staging.height
            attributes.append(np.concatenate([agent.ravel(), patient.ravel()]))
            thumbs = [
                cv2.resize(
                    frames.frame(event.index * fpe + t), (16, 9), interpolation=cv2.INTER_AREA
                )
                for t in (0, fpe // 3, 2 * fpe // 3, fpe - 1)
            ]
            pixels.append(np.concatenate([t.ravel() for t in thumbs]) / 255.0)
            verbs.append(event.verb)
            groups.append(index)
    return np.array(pixels), np.array(attributes), np.array(verbs), np.array(groups)


def _probe_accuracy(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> float:
    probe = make_pipeline(StandardScaler(), RidgeClassifier(alpha=10.0))
    probe.fit(x[~test], y[~test])
    return float((probe.predict(x[test]) == y[test]).mean())


@pytest.mark.slow
def test_pixel_probe_has_headroom_below_attribute_probe() -> None:
    pixels, attributes, verbs, groups = _features(movies=16)
    test = groups % 4 == 0  # held-out movies
    majority = float((verbs[test] == Counter(verbs[~test]).most_common(1)[0][0]).mean())
    pixel_acc = _probe_accuracy(pixels, verbs, test)
    attribute_acc = _probe_accuracy(attributes, verbs, test)
    print(f"verb probe: pixels {pixel_acc:.3f} attributes {attribute_acc:.3f} ({majority=:.3f})")
    assert attribute_acc > 0.7
    assert attribute_acc > majority + 0.3  # verbs are learnable
    assert attribute_acc - pixel_acc > 0.35  # ... but not from still pixels
