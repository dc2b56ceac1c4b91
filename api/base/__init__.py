"""What every domain package of the API shares: ids, places, coordinate systems.

A domain package (``api/accounts``, ``api/grid``, ``api/incidents``, ``api/vision``, ``api/audit``) imports
these and the platform modules (``api/fields.py``, ``api/restrict.py``, ...), never another domain package;
a type of another domain is named with ``strawberry.lazy``.
"""
