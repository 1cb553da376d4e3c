"""Bridge networking for the engine (pyroute2). Imports nothing from the rest of the project."""
