"""`python -m services.intake`: run the intake service in this process."""

from services.intake.bootstrap import main

main()
