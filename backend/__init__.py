"""The service: FastAPI app, REST routes and the ``avatar`` command line."""
