"""Stationhouse hotspots service: clustering, hotspot maps with significance, forecasts by PAI."""
