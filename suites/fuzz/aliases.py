"""schemathesis' generic classes as this suite uses them: any operation of an OpenAPI schema."""

from __future__ import annotations

from typing import Any, TypeAlias

from schemathesis import Case
from schemathesis.schemas import APIOperation

Operation: TypeAlias = APIOperation[Any, Any, Any, Any]
AnyCase: TypeAlias = Case[Operation]
