"""Feature engineering for crime-type classification, as one scikit-learn transformer.

`IncidentFeatures` turns raw incidents (a DataFrame with `occurred_at`, `premises_type`, `area`,
`lat`, `lon` and optional numeric extras) into model features. It is the first step of every
classification pipeline, so the exact same code runs in training, evaluation and serving.

No leakage: the "recent category mix near the place" is computed from the history the
transformer was fitted on, counting only incidents that occurred *strictly before* the incident
being described (an incident never sees itself, anything at the same instant, or anything later).
Its fitted state is plain numpy arrays and lists, so it round-trips through skops.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

RAW_COLUMNS = ("occurred_at", "premises_type", "area", "lat", "lon")
CATEGORICAL_FEATURES = ("premises_type", "area")
MISSING_CATEGORY = "unknown"

# Coordinates are bucketed to ~11 m for "the same place" (publishers snap to intersections) and
# to ~550 m cells for "near the place".
PLACE_DECIMALS = 4
CELL_DEGREES = 0.005
CELL_WINDOW_DAYS = 365
_KEY_SHIFT = np.int64(1) << np.int64(33)  # seconds since 1900 fit in 33 bits until 2172
_EPOCH_1900 = 2_208_988_800


def _seconds(values: pd.Series) -> np.ndarray:
    """UTC seconds since 1900-01-01 (so old, late-reported incidents stay positive)."""
    stamps = (
        values if isinstance(values.dtype, pd.DatetimeTZDtype) else pd.to_datetime(values, utc=True)
    )
    # Derive seconds from the actual datetime64 unit (pandas may store ns, us, ms or s).
    whole = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    seconds = whole.astype(np.int64) + _EPOCH_1900
    return np.asarray(np.clip(seconds, 0, int(_KEY_SHIFT) - 1), dtype=np.int64)


def _place_codes(lat: np.ndarray, lon: np.ndarray, *, step: float) -> np.ndarray:
    """One int64 per coordinate bucket; -1 where coordinates are missing."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat_i = np.where(ok, np.floor(np.where(ok, lat, 0.0) / step + 0.5), 0).astype(np.int64)
    lon_i = np.where(ok, np.floor(np.where(ok, lon, 0.0) / step + 0.5), 0).astype(np.int64)
    span = np.int64(int(400 / step) + 1)
    codes = (lat_i + span) * (2 * span + 1) + (lon_i + span)
    return np.where(ok, codes, -1)


def _premises_codes(values: pd.Series) -> np.ndarray:
    """A stable small integer per premises type (crc32, so it survives saving and loading)."""
    texts = values.astype(object).where(values.notna(), MISSING_CATEGORY).astype(str)
    mapping = {v: zlib.crc32(v.strip().lower().encode()) % 64 for v in texts.unique()}
    return np.asarray(texts.map(mapping).to_numpy(dtype=np.int64), dtype=np.int64)


def _place_premises_codes(lat: np.ndarray, lon: np.ndarray, premises: pd.Series) -> np.ndarray:
    place = _place_codes(lat, lon, step=10.0**-PLACE_DECIMALS)
    return np.where(place >= 0, place * 64 + _premises_codes(premises), -1)


class _History:
    """Counts per class of past incidents by place key, answerable for 'strictly before t'."""

    @staticmethod
    def build(
        keys: np.ndarray, seconds: np.ndarray, labels: np.ndarray, n_classes: int
    ) -> dict[str, Any]:
        ok = keys >= 0
        keys, seconds, labels = keys[ok], seconds[ok], labels[ok]
        vocab = np.unique(keys)
        key_index = np.searchsorted(vocab, keys).astype(np.int64)
        combined = key_index * _KEY_SHIFT + seconds
        order = np.argsort(combined, kind="stable")
        combined = combined[order]
        onehot = np.zeros((len(order) + 1, n_classes), dtype=np.int32)
        onehot[np.arange(1, len(order) + 1), labels[order]] = 1
        return {
            "vocab": vocab,
            "combined": combined,
            "cumulative": np.cumsum(onehot, axis=0, dtype=np.int32),
        }

    @staticmethod
    def counts(
        state: dict[str, Any], keys: np.ndarray, seconds: np.ndarray, window_seconds: int | None
    ) -> np.ndarray:
        vocab: np.ndarray = state["vocab"]
        cumulative: np.ndarray = state["cumulative"]
        combined: np.ndarray = state["combined"]
        result = np.zeros((len(keys), cumulative.shape[1]), dtype=np.float64)
        if len(vocab) == 0:
            return result
        pos = np.clip(np.searchsorted(vocab, keys), 0, len(vocab) - 1)
        known = (keys >= 0) & (vocab[pos] == keys)
        if not known.any():
            return result
        base = pos[known].astype(np.int64) * _KEY_SHIFT
        t = seconds[known]
        # side="left" on t itself: rows at exactly t (the incident, its twins) are excluded.
        hi = np.searchsorted(combined, base + t, side="left")
        if window_seconds is None:
            lo = np.searchsorted(combined, base, side="left")
        else:
            lo = np.searchsorted(combined, base + np.maximum(t - window_seconds, 0), side="left")
        result[known] = cumulative[hi] - cumulative[lo]
        return result


class IncidentFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Raw incidents -> features; fit needs the category labels to build the place history."""

    def __init__(
        self,
        *,
        extra_numeric: Sequence[str] = (),
        area_indicators: dict[str, dict[str, float]] | None = None,
        use_history: bool = True,
        utc_offset_hours: float = 0.0,
    ) -> None:
        self.extra_numeric = extra_numeric
        self.area_indicators = area_indicators
        self.use_history = use_history
        self.utc_offset_hours = utc_offset_hours

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Sequence[str] | np.ndarray) -> IncidentFeatures:
        """Remember the classes, the indicator table and the labelled history of places."""
        if y is None:
            raise ValueError("IncidentFeatures needs the categories (y) to build place history")
        labels = np.asarray(y).astype(str)
        self.classes_ = sorted(set(labels.tolist()))
        class_index = np.searchsorted(np.asarray(self.classes_), labels)
        indicators = self.area_indicators or {}
        self.indicator_names_ = sorted({name for row in indicators.values() for name in row})
        self.indicator_areas_ = sorted(indicators)
        self.indicator_values_ = np.array(
            [
                [float(indicators[a].get(n, np.nan)) for n in self.indicator_names_]
                for a in self.indicator_areas_
            ],
            dtype=np.float64,
        ).reshape(len(self.indicator_areas_), len(self.indicator_names_))
        if self.use_history:
            lat, lon = self._coordinates(X)
            seconds = _seconds(X["occurred_at"])
            place = _History.build(
                _place_codes(lat, lon, step=10.0**-PLACE_DECIMALS),
                seconds,
                class_index,
                len(self.classes_),
            )
            cell = _History.build(
                _place_codes(lat, lon, step=CELL_DEGREES), seconds, class_index, len(self.classes_)
            )
            self.place_vocab_, self.place_combined_, self.place_cumulative_ = (
                place["vocab"],
                place["combined"],
                place["cumulative"],
            )
            self.cell_vocab_, self.cell_combined_, self.cell_cumulative_ = (
                cell["vocab"],
                cell["combined"],
                cell["cumulative"],
            )
            both = _History.build(
                _place_premises_codes(lat, lon, X["premises_type"]),
                seconds,
                class_index,
                len(self.classes_),
            )
            self.placeprem_vocab_ = both["vocab"]
            self.placeprem_combined_ = both["combined"]
            self.placeprem_cumulative_ = both["cumulative"]
            self.history_end_ = int(seconds.max()) if len(seconds) else 0
        features = self._transform(X)
        self.feature_names_ = list(features.columns)
        self.feature_groups_ = self._groups()
        # Reference values for explanations: what a "typical" incident looks like.
        self.reference_ = [
            str(features[c].mode().iloc[0])
            if c in CATEGORICAL_FEATURES
            else float(np.nan_to_num(features[c].median()))
            for c in self.feature_names_
        ]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Features of incidents, using only history strictly before each incident."""
        return self._transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_, dtype=object)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _coordinates(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        lat = pd.to_numeric(X["lat"], errors="coerce").to_numpy(dtype=np.float64)
        lon = pd.to_numeric(X["lon"], errors="coerce").to_numpy(dtype=np.float64)
        return lat, lon

    def _groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {
            "hour": ["hour_sin", "hour_cos"],
            "weekday": ["weekday_sin", "weekday_cos"],
            "month": ["month_sin", "month_cos"],
            "premises_type": ["premises_type"],
            "area": ["area"],
            "coordinates": ["lat", "lon"],
        }
        for name in self.extra_numeric:
            groups[name] = [name]
        if self.use_history:
            groups["place_history"] = [c for c in self.feature_names_ if c.startswith("place_")]
            groups["place_premises_history"] = [
                c for c in self.feature_names_ if c.startswith("placeprem_")
            ]
            groups["nearby_recent_mix"] = [c for c in self.feature_names_ if c.startswith("cell_")]
        if self.indicator_names_:
            groups["area_indicators"] = [f"indicator_{n}" for n in self.indicator_names_]
        return groups

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        stamps = pd.to_datetime(X["occurred_at"], utc=True)
        local = stamps + pd.Timedelta(hours=self.utc_offset_hours)
        hour = (local.dt.hour + local.dt.minute / 60.0).to_numpy(dtype=np.float64)
        weekday = local.dt.day_of_week.to_numpy(dtype=np.float64)
        month = (local.dt.month - 1).to_numpy(dtype=np.float64)
        lat, lon = self._coordinates(X)
        columns: dict[str, Any] = {
            "hour_sin": np.sin(2 * np.pi * hour / 24),
            "hour_cos": np.cos(2 * np.pi * hour / 24),
            "weekday_sin": np.sin(2 * np.pi * weekday / 7),
            "weekday_cos": np.cos(2 * np.pi * weekday / 7),
            "month_sin": np.sin(2 * np.pi * month / 12),
            "month_cos": np.cos(2 * np.pi * month / 12),
            "lat": lat,
            "lon": lon,
        }
        for name in CATEGORICAL_FEATURES:
            values = X[name].astype(object).where(X[name].notna(), MISSING_CATEGORY)
            columns[name] = (
                values.astype(str).str.strip().replace("", MISSING_CATEGORY).to_numpy(dtype=object)
            )
        for name in self.extra_numeric:
            columns[name] = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64)
        if self.use_history:
            seconds = _seconds(X["occurred_at"])
            place_state = {
                "vocab": self.place_vocab_,
                "combined": self.place_combined_,
                "cumulative": self.place_cumulative_,
            }
            cell_state = {
                "vocab": self.cell_vocab_,
                "combined": self.cell_combined_,
                "cumulative": self.cell_cumulative_,
            }
            place = _History.counts(
                place_state, _place_codes(lat, lon, step=10.0**-PLACE_DECIMALS), seconds, None
            )
            cell = _History.counts(
                cell_state,
                _place_codes(lat, lon, step=CELL_DEGREES),
                seconds,
                CELL_WINDOW_DAYS * 86400,
            )
            place_total = place.sum(axis=1)
            cell_total = cell.sum(axis=1)
            columns["place_total"] = np.log1p(place_total)
            for i, label in enumerate(self.classes_):
                columns[f"place_count_{label}"] = np.log1p(place[:, i])
                columns[f"place_share_{label}"] = (place[:, i] + 0.5) / (
                    place_total + 0.5 * len(self.classes_)
                )
            both_state = {
                "vocab": self.placeprem_vocab_,
                "combined": self.placeprem_combined_,
                "cumulative": self.placeprem_cumulative_,
            }
            both = _History.counts(
                both_state, _place_premises_codes(lat, lon, X["premises_type"]), seconds, None
            )
            both_total = both.sum(axis=1)
            columns["placeprem_total"] = np.log1p(both_total)
            for i, label in enumerate(self.classes_):
                columns[f"placeprem_share_{label}"] = (both[:, i] + 0.5) / (
                    both_total + 0.5 * len(self.classes_)
                )
            columns["cell_total"] = np.log1p(cell_total)
            for i, label in enumerate(self.classes_):
                columns[f"cell_share_{label}"] = (cell[:, i] + 0.5) / (
                    cell_total + 0.5 * len(self.classes_)
                )
        if self.indicator_names_:
            areas = np.asarray(columns["area"], dtype=object)
            table = np.asarray(self.indicator_areas_, dtype=object)
            pos = np.clip(
                np.searchsorted(table.astype(str), areas.astype(str)), 0, max(len(table) - 1, 0)
            )
            hit = (
                (len(table) > 0) & (table[pos] == areas)
                if len(table)
                else np.zeros(len(areas), dtype=bool)
            )
            for j, name in enumerate(self.indicator_names_):
                values = np.full(len(areas), np.nan)
                values[hit] = self.indicator_values_[pos[hit], j]
                columns[f"indicator_{name}"] = values
        return pd.DataFrame(columns, index=X.index)


def numeric_feature_names(features: IncidentFeatures) -> list[str]:
    """The fitted transformer's numeric output columns (everything but the categoricals)."""
    return [c for c in features.feature_names_ if c not in CATEGORICAL_FEATURES]
