"""A set of incident points as column arrays, projected to metres."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotspots_service.analysis.geo import Projection


@dataclass
class PointSet:
    """Incident points: WGS84, projected metres, time (epoch seconds), category and area."""

    lat: np.ndarray
    lon: np.ndarray
    x: np.ndarray
    y: np.ndarray
    t: np.ndarray  # int64 seconds since the epoch (UTC)
    category: np.ndarray  # str objects
    area: np.ndarray  # str objects ("" when unknown)
    projection: Projection

    @classmethod
    def build(
        cls,
        *,
        lat: np.ndarray,
        lon: np.ndarray,
        t: np.ndarray,
        category: np.ndarray,
        area: np.ndarray | None = None,
        epsg: int | None = None,
        projection: Projection | None = None,
    ) -> PointSet:
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        if projection is None:
            projection = Projection.for_points(lat, lon, epsg)
        x, y = projection.to_metres(lat, lon)
        if area is None:
            area = np.full(lat.shape, "", dtype=object)
        return cls(
            lat=lat,
            lon=lon,
            x=x,
            y=y,
            t=np.asarray(t, dtype=np.int64),
            category=np.asarray(category, dtype=object),
            area=np.asarray(area, dtype=object),
            projection=projection,
        )

    def __len__(self) -> int:
        return int(self.lat.size)

    def subset(self, mask: np.ndarray) -> PointSet:
        return PointSet(
            lat=self.lat[mask],
            lon=self.lon[mask],
            x=self.x[mask],
            y=self.y[mask],
            t=self.t[mask],
            category=self.category[mask],
            area=self.area[mask],
            projection=self.projection,
        )
