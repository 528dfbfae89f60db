"""`digitrec serve`: the REST API and the web page (FastAPI under uvicorn; the `serve` extra).

settings.py (one BaseSettings), app.py (create_app: lifespan, middleware, error handlers),
routes.py (the /v1 endpoints), inputs.py (images from multipart or base64 JSON), engine.py (the
loaded models and the inference thread pool), explain.py (saliency maps), feedback.py (SQLite
store and its export as a folder dataset), metrics.py (Prometheus), problems.py (errors as
RFC 9457 problem details), static/ (the page).
"""
