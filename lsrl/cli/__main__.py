"""``python -m lsrl.cli ...`` (as torchrun runs it): the ``lsrl`` console script."""
from lsrl.cli.commands import entry

entry()
