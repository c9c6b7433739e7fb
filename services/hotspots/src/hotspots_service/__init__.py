"""Stationhouse hotspots service: Clustering, hotspot maps with significance, hotspot forecasts scored by PAI."""
