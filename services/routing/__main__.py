"""`python -m services.routing`: run the routing service in this process."""

from services.routing.bootstrap import main

main()
