"""Where things are: coordinate systems and the identity of an area, shared by every domain that
places something on the map."""

from __future__ import annotations

import strawberry
from strawberry import relay

from gridapp.geography.crs import CRS

CrsEnum = strawberry.enum(CRS, name="CoordinateSystem",
                          description="WGS84: GPS and survey data; GCJ02: what phones and most maps in China report; "
                                      "BD09: Baidu maps.")


@strawberry.type(name="Place", description="The identity of an area; its details are behind `node(id:)`.")
class PlaceType:
    id: relay.GlobalID
    code: str
    name: str
