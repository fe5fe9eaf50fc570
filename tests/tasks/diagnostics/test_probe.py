import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from movierep.tasks.diagnostics.probe import (
    knn_accuracy,
    knn_accuracy_leave_group_out,
    knn_predict,
    linear_probe_accuracy,
)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_predict_matches_sklearn_cosine(k):
    rng = np.random.default_rng(0)
    train_x, query_x = rng.normal(size=(60, 8)), rng.normal(size=(25, 8))
    train_y = rng.integers(0, 4, size=60)
    ref = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
    ref.fit(train_x, train_y)
    np.testing.assert_array_equal(knn_predict(train_x, train_y, query_x, k=k), ref.predict(query_x))


def test_knn_accuracy_on_clusters_and_on_noise():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 16)) * 5
    y = np.repeat(np.arange(3), 20)
    x = centres[y] + rng.normal(size=(60, 16))
    assert knn_accuracy(x[::2], y[::2], x[1::2], y[1::2]) == 1.0
    noise = rng.normal(size=(60, 16))
    assert knn_accuracy(noise[::2], y[::2], noise[1::2], y[1::2]) < 0.7


def test_leave_group_out_matches_a_loop_over_groups():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 6))
    y = rng.integers(0, 3, size=40)
    groups = np.repeat(np.arange(5), 8)
    correct = 0
    for g in range(5):
        held = groups == g
        ref = KNeighborsClassifier(n_neighbors=5, metric="cosine", algorithm="brute")
        ref.fit(x[~held], y[~held])
        correct += int((ref.predict(x[held]) == y[held]).sum())
    assert knn_accuracy_leave_group_out(x, y, groups, k=5) == pytest.approx(correct / 40)


def test_leave_group_out_ignores_same_movie_shortcut():
    # Each movie has its own offset: without exclusion the nearest item is always the
    # same movie's twin; leave-one-movie-out must not use it.
    rng = np.random.default_rng(3)
    movie_offsets = rng.normal(size=(10, 8)) * 10
    groups = np.repeat(np.arange(10), 2)
    y = np.tile([0, 1], 10)
    x = movie_offsets[groups] + 0.01 * rng.normal(size=(20, 8))
    assert knn_accuracy_leave_group_out(x, y, groups, k=1) < 0.8
    with pytest.raises(ValueError, match="two groups"):
        knn_accuracy_leave_group_out(x, y, np.zeros(20), k=1)


def test_linear_probe_separable_vs_random():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, size=80)
    x = rng.normal(size=(80, 5))
    x[:, 0] += 4 * y
    assert linear_probe_accuracy(x[:40], y[:40], x[40:], y[40:]) >= 0.95
    assert linear_probe_accuracy(x[:40, 1:], y[:40], x[40:, 1:], y[40:]) < 0.8


def test_event_knn_accuracy_joins_features_to_truth():
    import pyarrow as pa

    from movierep import tables
    from movierep.tasks.diagnostics.probe import event_knn_accuracy

    # Two movies, two places; features encode the place, plus an unannotated event.
    x = np.array([[1, 0], [0, 1], [1, 0.1], [0.1, 1], [5, 5]], np.float32)
    feats = pa.table(
        {
            "movie_id": ["a", "a", "b", "b", "b"],
            "event_index": pa.array([0, 1, 0, 1, 2], pa.int32()),
            "feature": tables.embedding_array(x),
        }
    )
    truth = pa.table(
        {
            "movie_id": ["b", "b", "a", "a"],
            "event_index": [1, 0, 1, 0],
            "place": ["park", "office", "park", "office"],
        }
    )
    assert event_knn_accuracy(feats, truth, "place", k=1) == 1.0
    flipped = truth.set_column(2, "place", pa.array(["office", "park", "park", "office"]))
    assert event_knn_accuracy(feats, flipped, "place", k=1) == 0.0
