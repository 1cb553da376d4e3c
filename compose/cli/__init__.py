"""The `pycompose` command line (Typer). Only this package prints or exits."""
