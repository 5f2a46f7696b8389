"""Serve a saved model over HTTP, with a latent-space explorer in the browser.

>>> from autoencoders.serving.server import build_app   # needs the serve extra
>>> app = build_app("runs/conv")                        # doctest: +SKIP
>>> import uvicorn; uvicorn.run(app, port=8000)         # doctest: +SKIP

The command line does the same: ``autoencoders serve runs/conv``. The framework-free
parts (request checks, the model calls, the explorer page) need only the core package.
"""
