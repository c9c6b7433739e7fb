"""Stationhouse records service.

Incidents, persons, cases, documents, complaints, statistics, export feed and the audit chain.
"""
