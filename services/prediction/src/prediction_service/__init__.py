"""Stationhouse prediction service: crime-type classifiers, count forecasts, model registry."""
