"""``peftctl serve``: an OpenAI-compatible HTTP server for one base model and many adapters.

``adapters`` loads the base once and each adapter onto module trees that share its weights;
``engine`` batches requests and runs every forward pass in one loop; ``api`` is the HTTP surface
(FastAPI); ``metrics`` counts for ``/metrics``.
"""
