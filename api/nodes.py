"""Relay ids of model types."""

#: Set as ``_id_attr`` on every model type that implements ``relay.Node``.  Without it strawberry finds no
#: ``NodeID`` annotation, so for *every* id it resolves it re-scans and re-evaluates every annotation of
#: the class: 6 ms per object on the mobile home-screen query (bench/api.py), most of the request.
MODEL_ID = "pk"
