"""Relay ids of model types."""

import inspect

from strawberry.extensions import FieldExtension

from api.base.ids import node_pk

#: Set as ``_id_attr`` on every model type that implements ``relay.Node``.  Without it strawberry finds no
#: ``NodeID`` annotation, so for *every* id it resolves it re-scans and re-evaluates every annotation of
#: the class, per object of every list (measured by `bench/api.py --only home`, the mobile home screen).
MODEL_ID = "pk"

#: The GraphQL node type of each model, by the model's label (``gridapp.event`` -> ``Event``): what the change
#: feed names in ``Change.nodeId``.  Filled by ``api.fields.django_type`` as each node type is declared (the
#: first node type of a model names it).
NODE_TYPES: dict[str, str] = {}


class NodeIdCheck(FieldExtension):
    """``node(id:)`` / ``nodes(ids:)``: an id that cannot name a row is ``invalid_id``, not a failed query."""

    def resolve(self, next_, source, info, **kwargs):
        self._check(kwargs)
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_, source, info, **kwargs):
        self._check(kwargs)
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result

    @staticmethod
    def _check(kwargs: dict) -> None:
        for global_id in kwargs.get("ids") or [kwargs.get("id")]:
            if global_id is not None:
                node_pk(global_id, None)
