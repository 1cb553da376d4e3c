"""OCI distribution client: pull and push images between a registry and the local store.

``client`` speaks the HTTP API (auth handshake, manifests, blobs), ``auth`` keeps Docker's
credential file, ``pull``/``push`` move images between a registry and ``engine.images``.
"""
