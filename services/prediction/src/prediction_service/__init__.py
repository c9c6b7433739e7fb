"""Stationhouse prediction service: Crime-type classifiers, crime-count forecasts and the model registry."""
