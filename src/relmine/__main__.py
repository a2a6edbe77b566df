"""``python -m relmine``."""

from relmine.cli import main

main()
