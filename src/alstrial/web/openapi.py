"""The OpenAPI document with the trial's own visit codes as an enumeration.

Visit codes come from the protocol stored in the database, not from code, so they are added
when the document is served (roles and the AE, disposition and event vocabularies are already
enumerations of the request models).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from alstrial.errors import AlstrialError

#: (schema, property) pairs holding a visit code
VISIT_FIELDS = (("VisitIn", "visit"), ("CsfSampleIn", "visit"))


def with_visit_codes(app: FastAPI) -> Callable[[], dict[str, Any]]:
    base = app.openapi

    def openapi() -> dict[str, Any]:
        doc = copy.deepcopy(base())
        try:
            codes = [v.code for v in app.state.db.protocol().visits]
        except AlstrialError:  # no trial set up yet: the document stays generic
            return doc
        schemas = doc.get("components", {}).get("schemas", {})
        for schema, prop in VISIT_FIELDS:
            field = schemas.get(schema, {}).get("properties", {}).get(prop)
            if field is not None:
                field["enum"] = codes
        for path in doc.get("paths", {}).values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("name") == "visit" and parameter.get("in") == "path":
                        parameter["schema"]["enum"] = codes
        return doc

    return openapi
