"""Foresight for the leaders' meetings: year-end departures forecasts with an honest range, tested on
the past (:mod:`.forecast`), and what it takes to reach the quota (:mod:`.outlook`). Early warning
of clusters of fraud and breaches lives with the cases (:mod:`xkld_geo.protection.alarms`)."""
