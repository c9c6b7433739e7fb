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
