"""`python -m digitrec` runs the command-line interface."""

from digitrec.cli import main

raise SystemExit(main())
