"""Bridge networking for the engine, on its own rtnetlink client. Imports nothing from the rest
of the project."""
