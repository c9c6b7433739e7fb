"""Every model kind round-trips through a signed skops artifact; unsafe artifacts are refused."""

from __future__ import annotations

import numpy as np
import pytest
from prediction_factories import synthetic_incidents

from prediction_service.ml.classification import ALGORITHMS, build_pipeline
from prediction_service.registry import artifacts

KEY = b"test-key"


class NotAllowed:
    """A type no artifact may contain."""


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_classifier_round_trips_through_a_signed_artifact(algorithm: str) -> None:
    frame = synthetic_incidents(200, seed=12)
    x, y = frame.drop(columns=["category"]), frame["category"].to_numpy()
    params = {"model__n_estimators": 5} if algorithm == "random_forest" else None
    model = build_pipeline(algorithm, params=params).fit(x, y)
    data = artifacts.dump(model)
    loaded = artifacts.verify_and_load(
        data, sha256=artifacts.sha256_hex(data), signature=artifacts.sign(data, KEY), key=KEY
    )
    np.testing.assert_array_equal(loaded.predict_proba(x[:5]), model.predict_proba(x[:5]))


def test_unsigned_tree_models_and_unknown_types_are_refused() -> None:
    frame = synthetic_incidents(100, seed=13)
    tree = build_pipeline("decision_tree").fit(frame.drop(columns=["category"]), frame["category"])
    data = artifacts.dump(tree)
    with pytest.raises(artifacts.ArtifactRefused):
        artifacts.verify_and_load(data, sha256=artifacts.sha256_hex(data), signature=None, key=None)
    odd = artifacts.dump({"payload": NotAllowed()})
    with pytest.raises(artifacts.ArtifactRefused, match="not allowed"):
        artifacts.verify_and_load(
            odd, sha256=artifacts.sha256_hex(odd), signature=artifacts.sign(odd, KEY), key=KEY
        )
    with pytest.raises(artifacts.ArtifactRefused, match="signature"):
        artifacts.verify_and_load(
            data, sha256=artifacts.sha256_hex(data), signature="0" * 64, key=KEY
        )


def test_balanced_model_decision_rule_is_tuned_on_training_folds_and_travels_in_the_artifact() -> (
    None
):
    frame = synthetic_incidents(300, seed=21)
    x, y = frame.drop(columns=["category"]), frame["category"].to_numpy()
    model = build_pipeline(
        "gradient_boosting",
        balanced=True,
        tune_decision=True,
        params={"model__max_iter": 20, "model__max_leaf_nodes": 7},
    ).fit(x, y)
    rule = model.named_steps["model"]
    assert rule.estimator_.max_iter == 20  # params kept their model__ names
    assert rule.class_weights_.shape == (len(model.classes_),)
    assert rule.cv_macro_f1_after_ >= rule.cv_macro_f1_before_
    proba = model.predict_proba(x[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    raw = rule.estimator_.predict_proba(model[:-1].transform(x[:20]))
    np.testing.assert_array_equal(proba.argmax(axis=1), (raw * rule.class_weights_).argmax(axis=1))
    data = artifacts.dump(model)
    loaded = artifacts.verify_and_load(
        data, sha256=artifacts.sha256_hex(data), signature=artifacts.sign(data, KEY), key=KEY
    )
    np.testing.assert_array_equal(loaded.predict_proba(x[:5]), model.predict_proba(x[:5]))


def test_class_weights_raise_macro_f1_of_a_skewed_probability_table() -> None:
    from prediction_service.ml.classification import fit_class_weights, macro_f1_of

    rng = np.random.default_rng(3)
    codes = rng.choice(3, size=2000, p=[0.7, 0.2, 0.1])
    proba = rng.dirichlet([1, 1, 1], size=2000) * 0.5
    proba[np.arange(2000), codes] += 0.3
    proba[:, 0] += 0.4  # a model that over-predicts the majority class
    proba /= proba.sum(axis=1, keepdims=True)
    weights = fit_class_weights(proba, codes)
    before = macro_f1_of(codes, proba.argmax(axis=1), 3)
    after = macro_f1_of(codes, (proba * weights).argmax(axis=1), 3)
    assert weights[0] == 1.0
    assert after > before + 0.05
