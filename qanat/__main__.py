"""``python -m qanat`` runs the command line."""

from qanat.cli.main import main

main()
