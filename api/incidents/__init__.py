"""Incidents over GraphQL: the taxonomy, reporting, the lifecycle, work queues, the map, statistics
and live updates.

Reads go through ``gridapp.incidents.selectors`` (already restricted to the viewer), writes through one
service each (``event_report``, ``event_transition``).
"""
