"""``python -m alstrial`` runs the command line."""

from alstrial.cli import main

main()
