"""HTTP routes of the stats service (DESIGN.md, "Public HTTP contract")."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["stats"])
