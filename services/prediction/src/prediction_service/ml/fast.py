"""A numpy serving path for a fitted classification pipeline (same answers, no pandas per call).

`FastClassifier.compile(pipeline)` reads the fitted feature step, encoder and model once and
precomputes lookups: categorical value -> encoded block, numeric column -> (imputed, scaled)
position, and the encoded reference row used for occlusion explanations. Scoring a request then
builds the encoded rows with numpy and calls the model on a plain array. Pipelines it does not
understand (extra numeric inputs, unknown steps) compile to None and are served by the pipeline.
Tests check it agrees with `pipeline.predict_proba` and `classification.explain`.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from prediction_service.ml.features import (
    _EPOCH_1900,
    _KEY_SHIFT,
    CATEGORICAL_FEATURES,
    CELL_DEGREES,
    CELL_WINDOW_DAYS,
    MISSING_CATEGORY,
    PLACE_DECIMALS,
    IncidentFeatures,
    _History,
    _place_codes,
)

_UNSEEN = "\x00unseen\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class RawIncident(Protocol):
    """What serving knows of an incident (inference.schemas.IncidentInput has this shape)."""

    occurred_at: datetime
    premises_type: str | None
    area: str | None
    lat: float | None
    lon: float | None


def _category(value: str | None) -> str:
    if value is None:
        return MISSING_CATEGORY
    text = str(value).strip()
    return text or MISSING_CATEGORY


@dataclass
class FastClassifier:
    features: IncidentFeatures
    classes: np.ndarray
    names: list[str]  # the feature step's output columns
    numeric: list[str]  # numeric feature names in encoded order (after the categorical blocks)
    blocks: list[tuple[int, int]]  # encoded column slice of each categorical feature
    lookups: list[dict[str, np.ndarray]]  # categorical value -> encoded block
    unknown: list[np.ndarray]  # encoded block of an unseen value
    fill: np.ndarray | None  # imputer statistics for the numeric part (None: passthrough)
    mean: np.ndarray | None
    scale: np.ndarray | None
    model: Any
    linear: bool
    weights: np.ndarray | None  # decision weights of a PriorShiftClassifier
    width: int
    groups: list[tuple[str, np.ndarray]]  # explanation group -> encoded columns
    reference: np.ndarray  # encoded reference row

    # -- compiling -------------------------------------------------------------------------
    @classmethod
    def compile(cls, pipeline: Any) -> FastClassifier | None:
        """Precompute lookups from a fitted pipeline; None when it has an unsupported shape."""
        try:
            return cls._compile(pipeline)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            return None

    @classmethod
    def _compile(cls, pipeline: Any) -> FastClassifier | None:
        if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 3:
            return None
        features = pipeline.named_steps["features"]
        encode = pipeline.named_steps["encode"]
        model = pipeline.named_steps["model"]
        if not isinstance(features, IncidentFeatures) or not isinstance(encode, ColumnTransformer):
            return None
        if features.extra_numeric or features.utc_offset_hours is None:
            return None
        weights = None
        if hasattr(model, "class_weights_") and hasattr(model, "estimator_"):
            weights = np.asarray(model.class_weights_, dtype=np.float64)
            model = model.estimator_
        names = list(features.feature_names_)
        cat_name, cat_transformer, cat_columns = encode.transformers_[0]
        if cat_name != "categorical" or list(cat_columns) != list(CATEGORICAL_FEATURES):
            return None
        numeric = [n for n in names if n not in CATEGORICAL_FEATURES]
        if len(encode.transformers_) != 2 or list(encode.transformers_[1][2]) != numeric:
            return None
        remainder = encode.transformers_[1][1]
        if isinstance(remainder, FunctionTransformer) and remainder.func is None:
            remainder = "passthrough"
        fill = mean = scale = None
        if isinstance(remainder, Pipeline):
            steps = list(remainder.named_steps.values())
            if not (
                len(steps) == 2
                and isinstance(steps[0], SimpleImputer)
                and isinstance(steps[1], StandardScaler)
            ):
                return None
            fill, mean, scale = steps[0].statistics_, steps[1].mean_, steps[1].scale_
        elif isinstance(remainder, SimpleImputer):
            fill = remainder.statistics_
        elif remainder != "passthrough":
            return None
        # Encoded blocks per categorical feature, measured by encoding probe frames.
        categories = [list(c) for c in cat_transformer.categories_]
        lookups: list[dict[str, np.ndarray]] = []
        unknown: list[np.ndarray] = []
        blocks: list[tuple[int, int]] = []
        start = 0
        for j, name in enumerate(CATEGORICAL_FEATURES):
            values = [str(v) for v in categories[j]] + [_UNSEEN]
            probe = pd.DataFrame(
                {
                    other: values if other == name else [str(categories[k][0])] * len(values)
                    for k, other in enumerate(CATEGORICAL_FEATURES)
                }
            )
            encoded = cat_transformer.transform(probe)
            encoded = encoded.toarray() if hasattr(encoded, "toarray") else np.asarray(encoded)
            encoded = np.asarray(encoded, dtype=np.float64)
            # The block of feature j: the columns that vary with it.
            other_block = cls._block_width(cat_transformer, 1 - j)
            width = encoded.shape[1] - other_block
            block = (start, start + width)
            columns = slice(0, width) if j == 0 else slice(other_block, other_block + width)
            lookups.append({v: encoded[i, columns].copy() for i, v in enumerate(values[:-1])})
            unknown.append(encoded[-1, columns].copy())
            blocks.append(block)
            start += width
        width = start + len(numeric)
        if isinstance(model, HistGradientBoostingClassifier) and model._preprocessor is not None:
            # The booster re-encodes its categorical columns on every call (a ColumnTransformer,
            # most of its predict time for a few rows): fold that mapping into the lookups.
            mask = np.asarray(model._preprocessor.transformers_[0][2], dtype=bool)
            if blocks != [(j, j + 1) for j in range(len(CATEGORICAL_FEATURES))] or not (
                mask[: len(blocks)].all() and not mask[len(blocks) :].any()
            ):
                return None
            inner = model._preprocessor.named_transformers_["encoder"].categories_
            for j in range(len(blocks)):
                known = {float(v): float(i) for i, v in enumerate(inner[j])}
                lookups[j] = {
                    k: np.asarray([known.get(float(v[0]), np.nan)]) for k, v in lookups[j].items()
                }
                unknown[j] = np.asarray([known.get(float(unknown[j][0]), np.nan)])
        if isinstance(model, LogisticRegression):
            linear = True
        elif hasattr(model, "predict_proba"):
            linear = False
        else:
            return None
        compiled = cls(
            features=features,
            classes=np.asarray([str(c) for c in pipeline.classes_], dtype=object),
            names=names,
            numeric=numeric,
            blocks=blocks,
            lookups=lookups,
            unknown=unknown,
            fill=None if fill is None else np.asarray(fill, dtype=np.float64),
            mean=None if mean is None else np.asarray(mean, dtype=np.float64),
            scale=None if scale is None else np.asarray(scale, dtype=np.float64),
            model=model,
            linear=linear,
            weights=weights,
            width=width,
            groups=[],
            reference=np.zeros(width),
        )
        reference = dict(zip(names, features.reference_, strict=True))
        compiled.reference = compiled._encode(
            [[str(reference[c])] for c in CATEGORICAL_FEATURES],
            np.asarray([[float(reference[n]) for n in numeric]], dtype=np.float64),
        )[0]
        position = {n: start + i for i, n in enumerate(numeric)}
        for group, members in features.feature_groups_.items():
            encoded_columns: list[int] = []
            for column in members:
                if column in CATEGORICAL_FEATURES:
                    lo, hi = blocks[CATEGORICAL_FEATURES.index(column)]
                    encoded_columns.extend(range(lo, hi))
                else:
                    encoded_columns.append(position[column])
            compiled.groups.append((group, np.asarray(encoded_columns, dtype=np.int64)))
        return compiled

    @staticmethod
    def _block_width(transformer: Any, j: int) -> int:
        if hasattr(transformer, "_n_features_outs"):  # OneHotEncoder (with infrequent groups)
            return int(transformer._n_features_outs[j])
        return 1  # OrdinalEncoder: one column per feature

    # -- scoring ---------------------------------------------------------------------------
    def _raw_features(self, incidents: Sequence[RawIncident]) -> tuple[list[list[str]], np.ndarray]:
        """Categorical values and the numeric feature matrix, as IncidentFeatures computes them."""
        f = self.features
        n = len(incidents)
        # Microseconds since 1970 (UTC), exactly; calendar fields come from numpy datetime64.
        micros = np.fromiter(
            (
                ((s if s.tzinfo is not None else s.replace(tzinfo=UTC)) - _EPOCH) // _MICROSECOND
                for s in (i.occurred_at for i in incidents)
            ),
            dtype=np.int64,
            count=n,
        )
        local = (micros + round(f.utc_offset_hours * 3_600_000_000)).astype("datetime64[us]")
        minutes = (local - local.astype("datetime64[D]")).astype("timedelta64[m]").astype(np.int64)
        hour = (minutes // 60) + (minutes % 60) / 60.0
        days = local.astype("datetime64[D]").astype(np.int64)
        weekday = ((days + 3) % 7).astype(np.float64)  # 1970-01-01 was a Thursday (3)
        month = (local.astype("datetime64[M]").astype(np.int64) % 12).astype(np.float64)
        # UTC seconds since 1900, as features._seconds computes them (floor of the microseconds).
        seconds = micros // 1_000_000 + _EPOCH_1900
        lat = np.fromiter(
            (np.nan if i.lat is None else i.lat for i in incidents), dtype=np.float64, count=n
        )
        lon = np.fromiter(
            (np.nan if i.lon is None else i.lon for i in incidents), dtype=np.float64, count=n
        )
        premises_raw = [
            MISSING_CATEGORY if i.premises_type is None else str(i.premises_type) for i in incidents
        ]
        premises = [_category(i.premises_type) for i in incidents]
        areas = [_category(i.area) for i in incidents]
        seconds = np.clip(seconds, 0, int(_KEY_SHIFT) - 1)
        columns: dict[str, np.ndarray] = {
            "hour_sin": np.sin(2 * np.pi * hour / 24),
            "hour_cos": np.cos(2 * np.pi * hour / 24),
            "weekday_sin": np.sin(2 * np.pi * weekday / 7),
            "weekday_cos": np.cos(2 * np.pi * weekday / 7),
            "month_sin": np.sin(2 * np.pi * month / 12),
            "month_cos": np.cos(2 * np.pi * month / 12),
            "lat": lat,
            "lon": lon,
        }
        k = len(f.classes_)
        if f.use_history:
            place = _History.counts(
                {
                    "vocab": f.place_vocab_,
                    "combined": f.place_combined_,
                    "cumulative": f.place_cumulative_,
                },
                _place_codes(lat, lon, step=10.0**-PLACE_DECIMALS),
                seconds,
                None,
            )
            cell = _History.counts(
                {
                    "vocab": f.cell_vocab_,
                    "combined": f.cell_combined_,
                    "cumulative": f.cell_cumulative_,
                },
                _place_codes(lat, lon, step=CELL_DEGREES),
                seconds,
                CELL_WINDOW_DAYS * 86400,
            )
            prem = np.asarray(
                [zlib.crc32(p.strip().lower().encode()) % 64 for p in premises_raw], dtype=np.int64
            )
            place_keys = _place_codes(lat, lon, step=10.0**-PLACE_DECIMALS)
            both = _History.counts(
                {
                    "vocab": f.placeprem_vocab_,
                    "combined": f.placeprem_combined_,
                    "cumulative": f.placeprem_cumulative_,
                },
                np.where(place_keys >= 0, place_keys * 64 + prem, -1),
                seconds,
                None,
            )
            place_total = place.sum(axis=1)
            cell_total = cell.sum(axis=1)
            both_total = both.sum(axis=1)
            columns["place_total"] = np.log1p(place_total)
            for i, label in enumerate(f.classes_):
                columns[f"place_count_{label}"] = np.log1p(place[:, i])
                columns[f"place_share_{label}"] = (place[:, i] + 0.5) / (place_total + 0.5 * k)
            columns["placeprem_total"] = np.log1p(both_total)
            for i, label in enumerate(f.classes_):
                columns[f"placeprem_share_{label}"] = (both[:, i] + 0.5) / (both_total + 0.5 * k)
            columns["cell_total"] = np.log1p(cell_total)
            for i, label in enumerate(f.classes_):
                columns[f"cell_share_{label}"] = (cell[:, i] + 0.5) / (cell_total + 0.5 * k)
        if f.indicator_names_:
            table = {a: f.indicator_values_[i] for i, a in enumerate(f.indicator_areas_)}
            missing = np.full(len(f.indicator_names_), np.nan)
            values = np.stack([table.get(a, missing) for a in areas]) if n else missing[None, :0]
            for j, name in enumerate(f.indicator_names_):
                columns[f"indicator_{name}"] = values[:, j]
        matrix = np.column_stack([columns[name] for name in self.numeric]) if n else None
        return [premises, areas], (
            matrix if matrix is not None else np.zeros((0, len(self.numeric)))
        )

    @property
    def _tables(self) -> list[tuple[dict[str, int], np.ndarray]]:
        """Per categorical feature: value -> row of a block table whose last row is 'unseen'."""
        cached: list[tuple[dict[str, int], np.ndarray]] | None = self.__dict__.get("_tables_")
        if cached is None or len(cached) != len(self.lookups):
            cached = []
            for lookup, unseen in zip(self.lookups, self.unknown, strict=True):
                values = list(lookup)
                table = np.vstack([lookup[v] for v in values] + [unseen]).astype(np.float64)
                cached.append(({v: i for i, v in enumerate(values)}, table))
            self.__dict__["_tables_"] = cached
        return cached

    def _encode(self, categorical: list[list[str]], numeric: np.ndarray) -> np.ndarray:
        n = numeric.shape[0]
        out = np.empty((n, self.width), dtype=np.float64)
        for j, values in enumerate(categorical):
            lo, hi = self.blocks[j]
            index, table = self._tables[j]
            unseen = len(table) - 1
            rows = np.fromiter((index.get(v, unseen) for v in values), dtype=np.int64, count=n)
            out[:, lo:hi] = table[rows]
        start = self.blocks[-1][1]
        part = numeric
        if self.fill is not None:
            part = np.where(np.isnan(part), self.fill, part)
        if self.mean is not None and self.scale is not None:
            part = (part - self.mean) / self.scale
        out[:, start:] = part
        return out

    def _proba(self, encoded: np.ndarray) -> np.ndarray:
        if isinstance(self.model, HistGradientBoostingClassifier):
            raw = np.zeros(
                (len(encoded), self.model.n_trees_per_iteration_),
                dtype=self.model._baseline_prediction.dtype,
                order="F",
            )
            raw += self.model._baseline_prediction
            if len(encoded):
                self.model._predict_iterations(encoded, self.model._predictors, raw, False, 1)
            proba = np.asarray(self.model._loss.predict_proba(raw), dtype=np.float64)
        elif self.linear:
            scores = encoded @ self.model.coef_.T + self.model.intercept_
            scores -= scores.max(axis=1, keepdims=True)
            proba = np.exp(scores)
            proba /= proba.sum(axis=1, keepdims=True)
        else:
            proba = np.asarray(self.model.predict_proba(encoded), dtype=np.float64)
        if self.weights is not None:
            proba = proba * self.weights
            proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def encode(self, incidents: Sequence[RawIncident]) -> np.ndarray:
        categorical, numeric = self._raw_features(incidents)
        return self._encode(categorical, numeric)

    def predict_proba(self, incidents: Sequence[RawIncident]) -> np.ndarray:
        return self._proba(self.encode(incidents))

    def explain(
        self, incidents: Sequence[RawIncident], *, top: int = 3
    ) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """Probabilities and occlusion contributions, as `classification.explain` computes them."""
        base = self.encode(incidents)
        n = len(base)
        stacked = np.tile(base, (len(self.groups) + 1, 1))
        for g, (_, columns) in enumerate(self.groups, start=1):
            stacked[g * n : (g + 1) * n, columns] = self.reference[columns]
        proba_all = self._proba(stacked)
        proba = proba_all[:n]
        predicted = proba.argmax(axis=1)
        rows = np.arange(n)
        drops = np.stack(
            [
                proba[rows, predicted] - proba_all[(g + 1) * n : (g + 2) * n][rows, predicted]
                for g in range(len(self.groups))
            ],
            axis=1,
        )
        names = [name for name, _ in self.groups]
        order = np.argsort(-drops, axis=1)[:, :top]
        explanations = [
            [{"feature": names[j], "contribution": round(float(drops[i, j]), 6)} for j in order[i]]
            for i in range(n)
        ]
        return proba, explanations
