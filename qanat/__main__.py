"""``python -m qanat`` runs the command line."""

from qanat.cli import main

main()
