"""The stationhouse command: run, migrate and administer the whole system."""
