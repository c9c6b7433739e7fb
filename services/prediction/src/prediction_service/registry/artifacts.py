"""Model artifacts: skops bytes with a SHA-256 and an HMAC, verified before anything is loaded.

skops never unpickles: it rebuilds only types on an allow-list, and `loads` refuses anything
else. On top of that the bytes must match the stored SHA-256, and (when a signing key is
configured) an HMAC that someone with write access to the database alone cannot forge.
"""

from __future__ import annotations

import hashlib
import hmac
import zipfile
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from servicekit.errors import ServiceUnavailable

# Types beyond skops' built-in trusted set that our pipelines and forecasters contain.
TRUSTED_TYPES = [
    "prediction_service.ml.features.IncidentFeatures",
    "prediction_service.ml.classification.PriorShiftClassifier",
    "prediction_service.ml.forecasting.CountForecaster",
    "prediction_service.ml.forecasting.ForecastBundle",
    "prediction_service.ml.forecasting.RateBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.utils.validation.check_array",
    "functools.partial",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.link.Interval",
    "numpy.dtype",
]


# skops distrusts tree node arrays (a crafted file could make predict read out of bounds), so
# decision trees and random forests load only from artifacts whose HMAC proved we wrote them.
SIGNED_ONLY_TYPES = ["sklearn.tree._tree.Tree"]


class ArtifactRefused(ServiceUnavailable):
    type_slug, title = "artifact-refused", "The model artifact failed verification"


def signing_key(*, artifact_key: str | None, client_secret: str | None) -> bytes | None:
    """The HMAC key: the configured one, else one derived from the service's client secret."""
    if artifact_key:
        return artifact_key.encode()
    if client_secret:
        return hmac.new(
            client_secret.encode(), b"stationhouse-prediction-artifacts", hashlib.sha256
        ).digest()
    return None


def dump(obj: Any) -> bytes:
    data: bytes = sio.dumps(obj, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    return data


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign(data: bytes, key: bytes | None) -> str | None:
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key else None


def verify_and_load(
    data: bytes | None, *, sha256: str, signature: str | None, key: bytes | None
) -> Any:
    """Check hash and signature, then rebuild the object with skops' allow-list; else refuse."""
    if not data:
        raise ArtifactRefused("The model artifact is missing.")
    if not hmac.compare_digest(sha256_hex(data), sha256):
        raise ArtifactRefused("The model artifact does not match its recorded SHA-256.")
    if key is not None:
        expected = sign(data, key)
        if signature is None or expected is None or not hmac.compare_digest(expected, signature):
            raise ArtifactRefused("The model artifact's signature is not valid.")
    try:
        trusted = TRUSTED_TYPES + (SIGNED_ONLY_TYPES if key is not None else [])
        return sio.loads(data, trusted=trusted)
    except UntrustedTypesFoundException as exc:
        raise ArtifactRefused("The model artifact contains types that are not allowed.") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise ArtifactRefused("The model artifact could not be read.") from exc
