"""`python -m services.notify`: run the notify service in this process."""

from services.notify.bootstrap import main

main()
