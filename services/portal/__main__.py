"""`python -m services.portal`: run the portal in this process (uvicorn on HTTP_HOST:HTTP_PORT)."""

from services.portal.bootstrap import main

main()
