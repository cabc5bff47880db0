"""The baseline web app of the benchmark: bare Flask, one POST endpoint returning 201 JSON.

Served by gunicorn with the same deploy/gunicorn.conf.py and the same
WEB_CONCURRENCY / WEB_THREADS as the real service it is compared with.
"""
import uuid

from flask import Flask, jsonify, request

app = Flask("bare")


@app.post("/api/v1/encounters")
def record():
    body = request.get_json(force=True, silent=True) or {}
    return jsonify({"id": str(uuid.uuid4()), **body}), 201


@app.get("/api/v1/tally")
def tally():
    return jsonify({"day": "2026-12-01", "total": 0, "by_age_band": {}, "by_gender": {}, "last": None})


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
