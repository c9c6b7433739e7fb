"""Stationhouse's shared kernel: infrastructure every service needs the same way."""
