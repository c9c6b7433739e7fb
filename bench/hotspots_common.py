"""Load the Toronto MCI incidents as a hotspots PointSet (bench helper, not a test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hotspots_service.analysis.points import PointSet

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "toronto_mci"
MCI_TO_CATEGORY = {
    "Assault": "assault",
    "Break and Enter": "burglary",
    "Auto Theft": "vehicle_theft",
    "Robbery": "robbery",
    "Theft Over": "theft",
}


# The records import merges rows with the same time, place and category (one Toronto event
# with several offence rows); the source's time is a day plus an hour.
DUPLICATE_KEY = ["occurrencedate", "occurrencehour", "Lat", "Long", "MCI"]


def load_toronto(dataset: Path = DATASET, *, merge_duplicates: bool = True) -> PointSet:
    """train + test CSVs, rows with real coordinates, times as epoch seconds (UTC).

    With merge_duplicates (default), rows the records import would merge count once.
    """
    frames = [pd.read_csv(dataset / f"{name}.csv.gz") for name in ("train", "test")]
    df = pd.concat(frames, ignore_index=True)
    df = df[(df["Lat"].abs() > 1) & (df["Long"].abs() > 1)]
    if merge_duplicates:
        df = df.drop_duplicates(DUPLICATE_KEY)
    when = pd.to_datetime(
        df["occurrencedate"].str.replace("+00", "", regex=False), format="%Y/%m/%d %H:%M:%S"
    )
    t = when.to_numpy().astype("datetime64[s]").astype(np.int64)
    return PointSet.build(
        lat=df["Lat"].to_numpy(),
        lon=df["Long"].to_numpy(),
        t=t,
        category=df["MCI"].map(MCI_TO_CATEGORY).fillna("other").to_numpy(dtype=object),
        area=df["Neighbourhood"].fillna("").to_numpy(dtype=object),
    )
