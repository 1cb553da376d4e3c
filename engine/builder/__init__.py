"""Dockerfile builder on the engine: parse (``parser``, ``words``), select context files
(``context``, ``dockerignore``), make layers (``layers``, RUN via a real container and
``engine.commit``), reuse them (``cache``), and drive it all (``build``)."""
