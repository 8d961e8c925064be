"""`python -m services.stats`: run the stats service in this process; `... rebuild` rebuilds its projections."""

from services.stats.entrypoints.cli import app

app(prog_name="python -m services.stats")
