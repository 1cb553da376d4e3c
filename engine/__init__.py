"""pycompose's built-in container engine. Callers outside the engine use `engine.api` only."""
