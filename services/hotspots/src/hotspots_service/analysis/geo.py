"""Projection to metres and square grids over projected points."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from pyproj import CRS, Transformer

WGS84 = "EPSG:4326"


def utm_epsg_for(lat: np.ndarray, lon: np.ndarray) -> int:
    """EPSG code of the UTM zone holding the median of the points."""
    if lat.size == 0:
        raise ValueError("no points to choose a projection from")
    mlat = float(np.median(lat))
    mlon = float(np.median(lon))
    zone = int((mlon + 180.0) // 6.0) % 60 + 1
    return (32600 if mlat >= 0 else 32700) + zone


@lru_cache(maxsize=32)
def _transformers(epsg: int) -> tuple[Transformer, Transformer]:
    crs = CRS.from_epsg(epsg)
    if not crs.is_projected:
        raise ValueError(f"EPSG:{epsg} is not a projected (metre) coordinate system")
    forward = Transformer.from_crs(WGS84, crs, always_xy=True)
    inverse = Transformer.from_crs(crs, WGS84, always_xy=True)
    return forward, inverse


@dataclass(frozen=True)
class Projection:
    """A metre-based projection and its inverse back to WGS84."""

    epsg: int

    @classmethod
    def for_points(cls, lat: np.ndarray, lon: np.ndarray, epsg: int | None = None) -> Projection:
        return cls(epsg if epsg is not None else utm_epsg_for(lat, lon))

    def to_metres(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        forward, _ = _transformers(self.epsg)
        x, y = forward.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x), np.asarray(y)

    def to_wgs84(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (lon, lat)."""
        _, inverse = _transformers(self.epsg)
        lon, lat = inverse.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon), np.asarray(lat)


@dataclass(frozen=True)
class Grid:
    """A square grid in projected metres: cell (row, col) spans [x0+col*size, +size) etc."""

    x0: float
    y0: float
    cell_size: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, x: np.ndarray, y: np.ndarray, cell_size: float, *, margin: int = 0) -> Grid:
        """The smallest grid aligned to multiples of cell_size that covers every point."""
        if x.size == 0:
            raise ValueError("no points to build a grid over")
        x0 = np.floor(x.min() / cell_size) * cell_size - margin * cell_size
        y0 = np.floor(y.min() / cell_size) * cell_size - margin * cell_size
        nx = int(np.floor((x.max() - x0) / cell_size)) + 1 + margin
        ny = int(np.floor((y.max() - y0) / cell_size)) + 1 + margin
        return cls(float(x0), float(y0), float(cell_size), nx, ny)

    @property
    def n_cells(self) -> int:
        return self.nx * self.ny

    @property
    def cell_area_km2(self) -> float:
        return (self.cell_size / 1000.0) ** 2

    def cell_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat cell index (row*nx+col) of each point, -1 outside the grid."""
        col = np.floor((x - self.x0) / self.cell_size).astype(np.int64)
        row = np.floor((y - self.y0) / self.cell_size).astype(np.int64)
        inside = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        return np.where(inside, row * self.nx + col, -1)

    def counts(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Counts per cell as a (ny, nx) array."""
        idx = self.cell_index(x, y)
        keep = idx >= 0
        w = None if weights is None else weights[keep]
        flat = np.bincount(idx[keep], weights=w, minlength=self.n_cells)
        return flat.reshape(self.ny, self.nx)

    def cell_bounds(self, flat_index: np.ndarray) -> tuple[np.ndarray, ...]:
        """(xmin, ymin, xmax, ymax) in metres of each flat cell index."""
        row, col = np.divmod(np.asarray(flat_index, dtype=np.int64), self.nx)
        xmin = self.x0 + col * self.cell_size
        ymin = self.y0 + row * self.cell_size
        return xmin, ymin, xmin + self.cell_size, ymin + self.cell_size

    def cell_centres(self, flat_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xmin, ymin, _, _ = self.cell_bounds(flat_index)
        half = self.cell_size / 2.0
        return xmin + half, ymin + half


def cell_polygons(
    grid: Grid, projection: Projection, flat_index: np.ndarray
) -> list[list[list[list[float]]]]:
    """GeoJSON polygon coordinates (WGS84, counter-clockwise) of each cell."""
    xmin, ymin, xmax, ymax = grid.cell_bounds(flat_index)
    xs = np.stack([xmin, xmax, xmax, xmin, xmin], axis=1)
    ys = np.stack([ymin, ymin, ymax, ymax, ymin], axis=1)
    lon, lat = projection.to_wgs84(xs.ravel(), ys.ravel())
    lon = np.round(lon.reshape(xs.shape), 7)
    lat = np.round(lat.reshape(ys.shape), 7)
    return [
        [[[float(a), float(b)] for a, b in zip(lo, la, strict=True)]]
        for lo, la in zip(lon, lat, strict=True)
    ]


def feature_collection(features: list[dict[str, Any]], **metadata: object) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection with foreign members for metadata."""
    return {"type": "FeatureCollection", "features": features, **metadata}
