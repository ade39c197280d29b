"""`python -m oms`: the same CLI as the `oms` script."""

from oms.cli import main

main()
