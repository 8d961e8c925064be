"""HTTP routes of the notify service (DESIGN.md, "Public HTTP contract")."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["notify"])
