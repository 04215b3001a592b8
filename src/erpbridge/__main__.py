"""``python -m erpbridge`` is the ``erpbridge`` command."""

from .cli.main import main

main()
