"""Support code of the portal tier: axe-core fetched and injected, keyboard walking, page weight and paint times."""
