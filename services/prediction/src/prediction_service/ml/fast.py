"""A numpy serving path for a fitted classification pipeline (same answers, no pandas per call).

`FastClassifier.compile(pipeline)` reads the fitted feature step, encoder and model once and
precomputes lookups: categorical value -> encoded block, numeric column -> (imputed, scaled)
position, and the encoded reference row used for occlusion explanations. Scoring a request then
builds the encoded rows with numpy and calls the model on a plain array; a histogram booster gets
its rows already binned (one byte per feature, the same leaves). Pipelines it does not
understand (extra numeric inputs, unknown steps) compile to None and are served by the pipeline.
Tests check it agrees with `pipeline.predict_proba` and `classification.explain`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting._predictor import _predict_from_binned_data
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
# A booster scores big batches in row order sorted by the features its trees test nearest the
# root: neighbouring rows then take the same branches, which the CPU predicts (~20% faster).
_SORT_FEATURES = 5
_SORT_MIN_ROWS = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class IncidentColumns:
    """A batch of incidents as columns: what serving knows of each incident."""

    occurred_at: Sequence[datetime]  # naive means UTC
    premises_type: Sequence[str | None]
    area: Sequence[str | None]
    lat: np.ndarray  # float64, NaN where unknown
    lon: np.ndarray

    def __len__(self) -> int:
        return len(self.occurred_at)

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> IncidentColumns:
        """Columns of rows shaped like inference.schemas.IncidentInput (absent keys: unknown)."""
        n = len(rows)
        return cls(
            occurred_at=[r["occurred_at"] for r in rows],
            premises_type=[r.get("premises_type") for r in rows],
            area=[r.get("area") for r in rows],
            lat=np.fromiter(
                (np.nan if (v := r.get("lat")) is None else v for r in rows), np.float64, count=n
            ),
            lon=np.fromiter(
                (np.nan if (v := r.get("lon")) is None else v for r in rows), np.float64, count=n
            ),
        )


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
    reference: np.ndarray  # the reference row as the model reads it
    bin_edges: list[np.ndarray | None] | None = None  # a booster's bin edges per column
    missing_bin: int = 255
    sort_columns: np.ndarray | None = None  # a booster's columns to order big batches by

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
        bin_edges: list[np.ndarray | None] | None = None
        missing_bin = 255
        if isinstance(model, HistGradientBoostingClassifier):
            # Score binned rows (one byte per feature, as the booster was trained): categorical
            # lookups give bins directly, numeric columns are binned at the booster's edges.
            mapper = model._bin_mapper
            missing_bin = int(mapper.missing_values_bin_idx_)
            is_categorical = (
                np.zeros(width, dtype=bool)
                if mapper.is_categorical_ is None
                else np.asarray(mapper.is_categorical_, dtype=bool)
            )
            bin_edges = []
            for col in range(width):
                if not is_categorical[col]:
                    bin_edges.append(np.asarray(mapper.bin_thresholds_[col], dtype=np.float64))
                    continue
                if (col, col + 1) not in blocks:
                    return None
                j = blocks.index((col, col + 1))
                # Known categories map to their bin; anything else is missing, as when the
                # booster scores raw values.
                bin_of = {float(v): float(i) for i, v in enumerate(mapper.bin_thresholds_[col])}
                lookups[j] = {
                    k: np.asarray([bin_of.get(float(v[0]), missing_bin)])
                    for k, v in lookups[j].items()
                }
                unknown[j] = np.asarray([bin_of.get(float(unknown[j][0]), missing_bin)])
                bin_edges.append(None)
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
            bin_edges=bin_edges,
            missing_bin=missing_bin,
            sort_columns=cls._root_columns(model) if bin_edges is not None else None,
        )
        reference = dict(zip(names, features.reference_, strict=True))
        reference_rows = []
        for j, name in enumerate(CATEGORICAL_FEATURES):
            index, table = compiled._tables[j]
            reference_rows.append(np.asarray([index.get(str(reference[name]), len(table) - 1)]))
        compiled.reference = compiled._encode(
            reference_rows,
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
    def _root_columns(model: HistGradientBoostingClassifier) -> np.ndarray:
        """The columns the booster's splits test most, weighting a split by 1 / (1 + depth)."""
        weight: dict[int, float] = {}
        for predictors in model._predictors:
            for predictor in predictors:
                splits = predictor.nodes[predictor.nodes["is_leaf"] == 0]
                for column, depth in zip(
                    splits["feature_idx"].tolist(), splits["depth"].tolist(), strict=True
                ):
                    weight[column] = weight.get(column, 0.0) + 1.0 / (1 + depth)
        ranked = sorted(weight, key=lambda c: (-weight[c], c))[:_SORT_FEATURES]
        return np.asarray(ranked, dtype=np.int64)

    @staticmethod
    def _block_width(transformer: Any, j: int) -> int:
        if hasattr(transformer, "_n_features_outs"):  # OneHotEncoder (with infrequent groups)
            return int(transformer._n_features_outs[j])
        return 1  # OrdinalEncoder: one column per feature

    # -- scoring ---------------------------------------------------------------------------
    def _raw_features(self, incidents: IncidentColumns) -> tuple[list[np.ndarray], np.ndarray]:
        """Block-table rows of the categorical values and the numeric feature matrix.

        Computed as IncidentFeatures computes them; text is cleaned once per distinct value.
        """
        f = self.features
        n = len(incidents)
        # Microseconds since 1970 (UTC), exactly; calendar fields come from numpy datetime64.
        micros = np.fromiter(
            (
                ((s if s.tzinfo is not None else s.replace(tzinfo=UTC)) - _EPOCH) // _MICROSECOND
                for s in incidents.occurred_at
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
        lat = np.asarray(incidents.lat, dtype=np.float64)
        lon = np.asarray(incidents.lon, dtype=np.float64)
        premises_clean = {v: _category(v) for v in set(incidents.premises_type)}
        area_clean = {v: _category(v) for v in set(incidents.area)}
        categorical = [
            self._table_rows(0, incidents.premises_type, premises_clean),
            self._table_rows(1, incidents.area, area_clean),
        ]
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
            place_keys = _place_codes(lat, lon, step=10.0**-PLACE_DECIMALS)
            place = _History.counts(
                {
                    "vocab": f.place_vocab_,
                    "combined": f.place_combined_,
                    "cumulative": f.place_cumulative_,
                },
                place_keys,
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
            # features._premises_codes: crc32 of the stripped, lower-cased text (None: "unknown").
            crc = {
                v: zlib.crc32((MISSING_CATEGORY if v is None else str(v)).strip().lower().encode())
                % 64
                for v in premises_clean
            }
            prem = np.fromiter(map(crc.__getitem__, incidents.premises_type), np.int64, count=n)
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
            # One row per known area plus a last all-missing row for the others.
            table = np.vstack([f.indicator_values_, np.full((1, len(f.indicator_names_)), np.nan)])
            position = {a: i for i, a in enumerate(f.indicator_areas_)}
            row_of = {v: position.get(a, len(table) - 1) for v, a in area_clean.items()}
            values = table[np.fromiter(map(row_of.__getitem__, incidents.area), np.int64, count=n)]
            for j, name in enumerate(f.indicator_names_):
                columns[f"indicator_{name}"] = values[:, j]
        matrix = np.empty((n, len(self.numeric)), dtype=np.float64)
        for j, name in enumerate(self.numeric):
            matrix[:, j] = columns[name]
        return categorical, matrix

    def _table_rows(
        self, j: int, values: Sequence[str | None], clean: dict[str | None, str]
    ) -> np.ndarray:
        """Row of categorical feature j's block table for each value (the last row: unseen)."""
        index, table = self._tables[j]
        unseen = len(table) - 1
        row_of = {v: index.get(c, unseen) for v, c in clean.items()}
        return np.fromiter(map(row_of.__getitem__, values), np.int64, count=len(values))

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

    def _encode(self, categorical: list[np.ndarray], numeric: np.ndarray) -> np.ndarray:
        """The rows as the model reads them: encoded floats, or bins for a booster."""
        n = numeric.shape[0]
        out = np.empty((n, self.width), dtype=np.float64)
        for j, rows in enumerate(categorical):
            lo, hi = self.blocks[j]
            out[:, lo:hi] = self._tables[j][1][rows]
        start = self.blocks[-1][1]
        part = numeric
        if self.fill is not None:
            part = np.where(np.isnan(part), self.fill, part)
        if self.mean is not None and self.scale is not None:
            part = (part - self.mean) / self.scale
        out[:, start:] = part
        return out if self.bin_edges is None else self._bin(out)

    def _bin(self, encoded: np.ndarray) -> np.ndarray:
        """The booster's own binning (_BinMapper.transform), column by column with numpy."""
        assert self.bin_edges is not None
        binned = np.empty(encoded.shape, dtype=np.uint8)
        for j, edges in enumerate(self.bin_edges):
            column = encoded[:, j]
            if edges is None:  # a categorical column: its lookup table already holds bins
                binned[:, j] = column
                continue
            # Bin i holds edges[i - 1] < x <= edges[i]; missing values go to the last bin.
            bins = np.searchsorted(edges, column, side="left")
            bins[np.isnan(column)] = self.missing_bin
            binned[:, j] = bins
        return binned

    def _proba(self, rows: np.ndarray) -> np.ndarray:
        if isinstance(self.model, HistGradientBoostingClassifier):
            raw = np.zeros(
                (len(rows), self.model.n_trees_per_iteration_),
                dtype=self.model._baseline_prediction.dtype,
                order="F",
            )
            raw += self.model._baseline_prediction
            order = None
            if (
                self.sort_columns is not None
                and len(self.sort_columns)
                and len(rows) >= _SORT_MIN_ROWS
            ):
                # lexsort's last key is the primary one.
                order = np.lexsort(rows[:, self.sort_columns[::-1]].T)
                rows = rows[order]
            if len(rows):
                # Binned rows: the same leaves as the raw-value path (every split threshold is
                # a bin edge), with the trees reading one byte per feature instead of eight.
                # Trees are added in the booster's own order (_predict_iterations), calling its
                # Cython traversal directly: per-tree Python overhead dominates a single row.
                out = np.empty(len(rows), dtype=raw.dtype)
                missing = np.uint8(self.missing_bin)
                for predictors in self.model._predictors:
                    for k, predictor in enumerate(predictors):
                        _predict_from_binned_data(
                            predictor.nodes,
                            rows,
                            predictor.binned_left_cat_bitsets,
                            missing,
                            1,
                            out,
                        )
                        raw[:, k] += out
            if order is not None:
                unsorted = np.empty_like(raw)
                unsorted[order] = raw
                raw = unsorted
            proba = np.asarray(self.model._loss.predict_proba(raw), dtype=np.float64)
        elif self.linear:
            scores = rows @ self.model.coef_.T + self.model.intercept_
            scores -= scores.max(axis=1, keepdims=True)
            proba = np.exp(scores)
            proba /= proba.sum(axis=1, keepdims=True)
        else:
            proba = np.asarray(self.model.predict_proba(rows), dtype=np.float64)
        if self.weights is not None:
            proba = proba * self.weights
            proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def model_rows(self, incidents: IncidentColumns) -> np.ndarray:
        """The incidents as the fitted model reads them (encoded, and binned for a booster)."""
        categorical, numeric = self._raw_features(incidents)
        return self._encode(categorical, numeric)

    def predict_proba(self, incidents: IncidentColumns) -> np.ndarray:
        """Class probabilities, as `pipeline.predict_proba` computes them."""
        return self._proba(self.model_rows(incidents))

    def explain(
        self, incidents: IncidentColumns, *, top: int = 3
    ) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """Probabilities and occlusion contributions, as `classification.explain` computes them."""
        base = self.model_rows(incidents)
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
