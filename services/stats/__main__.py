"""`python -m services.stats`: run the stats service in this process."""

from services.stats.bootstrap import main

main()
