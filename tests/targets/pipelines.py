"""Team pipelines in Flask: pipelines come from files, runs are triggered over the API, a POST searches runs.

Each team owns one pipeline (``<team>_etl``), defined when the app starts, as Airflow's DAGs come
from files: no operation creates pipelines, so the profile binds each tenant's ``pipeline_id``. A
team's user signs up at ``POST /users`` (a bearer token back) and triggers runs at ``POST
/pipelines/{pipeline_id}/runs``; a run's ``run_id`` is the client's to choose, and a pipeline has
at most one run per ``scheduled_for`` moment (409 otherwise, as an Airflow DAG has one run per logical
date). ``GET /runs`` lists the team's runs (``?pipeline_id=`` narrows it); ``POST /runs/search``
(``search_runs``) is a search form whose body holds filters. A pipeline carries a ``source_token``, its
file's path signed with the app's key as Airflow's ``file_token`` is, which ``GET /sources/{source_token}``
takes to show the file. Modes:

- ``secure``: every read and write checks the caller's team; a search naming another team's
  pipeline is refused (403), and one naming none lists the team's own runs;
- ``filter_trusts_pipeline``: ``GET /runs?pipeline_id=`` lists that pipeline's runs, whoever owns it;
- ``search_trusts_pipeline_ids``: a search that names pipelines lists their runs, whoever owns them;
- ``search_ignores_team``: a search that names no pipeline lists every team's runs (GHSA-32wr-qqw6-5mfp's form);
- ``runs_by_id``: a run is read, changed and deleted by its ``run_id`` alone, under any pipeline;
- ``shows_webhook_secret``: a pipeline read carries the secret its webhook calls are signed with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from flask import Flask, jsonify, request

from tests.targets import BUILDING, bearer_document, example_profile

MODES = (
    "secure",
    "filter_trusts_pipeline",
    "search_trusts_pipeline_ids",
    "search_ignores_team",
    "runs_by_id",
    "shows_webhook_secret",
)
STATES = ["queued", "running", "success", "failed"]
STRING = {"type": "string"}
PIPELINE = {"name": "pipeline_id", "in": "path", "required": True, "schema": STRING}
RUN = {"name": "run_id", "in": "path", "required": True, "schema": STRING}
RUN_IN = {
    "type": "object",
    "properties": {
        "run_id": STRING,
        "scheduled_for": {"type": "string", "format": "date-time"},
        "note": STRING,
    },
}
SEARCH = {
    "type": "object",
    "properties": {
        "pipeline_ids": {"type": "array", "items": STRING},
        "states": {"type": "array", "items": {"type": "string", "enum": STATES}},
        "queue": STRING,
        "scheduled_after": {"type": "string", "format": "date-time"},
    },
}


def _ok(description: str) -> dict[str, Any]:
    return {"200": {"description": description}}


OPENAPI = bearer_document(
    "Pipelines",
    "2.0",
    {
        "/users": {
            "post": {
                "security": [],
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"201": {"description": "a token"}},
            }
        },
        "/pipelines": {"get": {"responses": _ok("the team's pipelines")}},
        "/pipelines/{pipeline_id}": {"parameters": [PIPELINE], "get": {"responses": _ok("a pipeline")}},
        "/sources/{source_token}": {
            "parameters": [{"name": "source_token", "in": "path", "required": True, "schema": STRING}],
            "get": {"responses": _ok("the pipeline's file")},
        },
        "/pipelines/{pipeline_id}/runs": {
            "parameters": [PIPELINE],
            "get": {"responses": _ok("the pipeline's runs")},
            "post": {
                "operationId": "trigger_run",
                "requestBody": {"content": {"application/json": {"schema": RUN_IN}}},
                "responses": {"201": {"description": "the run"}},
            },
        },
        "/pipelines/{pipeline_id}/runs/{run_id}": {
            "parameters": [PIPELINE, RUN],
            "get": {"responses": _ok("a run")},
            "patch": {
                "requestBody": {
                    "content": {"application/json": {"schema": {"type": "object", "properties": {"note": STRING}}}}
                },
                "responses": _ok("the run"),
            },
            "delete": {"responses": {"204": {"description": "deleted"}}},
        },
        "/runs": {
            "get": {
                "parameters": [{"name": "pipeline_id", "in": "query", "required": False, "schema": STRING}],
                "responses": _ok("the team's runs"),
            }
        },
        "/runs/search": {
            "post": {
                "operationId": "search_runs",
                "summary": "Search runs (batch)",
                "requestBody": {"content": {"application/json": {"schema": SEARCH}}},
                "responses": _ok("{runs, total}"),
            }
        },
    },
)


class Pipelines:
    """One app with its own state; ``app`` is the WSGI callable. ``teams`` own one pipeline each from the start."""

    def __init__(self, mode: str = "secure", teams: tuple[str, ...] = ("red", "blue")) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown pipelines mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self._pipelines = {f"{team}_etl": team for team in teams}  # pipeline -> team
        self._tokens: dict[str, str] = {}  # token -> team
        self._runs: dict[str, dict[str, Any]] = {}  # run_id -> run (with its pipeline)
        self._key = secrets.token_bytes(16)  # signs source tokens (Airflow's webserver secret_key)
        self._webhook_secrets = {pipeline: secrets.token_urlsafe(24) for pipeline in self._pipelines}
        self._lock = threading.Lock()
        with BUILDING:
            self.app = self._build()

    def _team(self) -> str | None:
        return self._tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "))

    def _pipeline(self, pipeline_id: str) -> Any:
        """None when the caller's team owns ``pipeline_id``, else the refusal."""
        team = self._team()
        if team is None:
            return jsonify(detail="not authenticated"), 401
        if self._pipelines.get(pipeline_id) != team:
            return jsonify(detail="pipeline not found"), 404
        return None

    def _public(self, pipeline_id: str) -> dict[str, Any]:
        """What a read shows of a pipeline: its source token (a reference), and its webhook secret in one mode."""
        shown = {
            "pipeline_id": pipeline_id,
            "team": self._pipelines[pipeline_id],
            "source_token": self._sign(pipeline_id),
        }
        if self.mode == "shows_webhook_secret":
            shown["webhook_secret"] = self._webhook_secrets[pipeline_id]
        return shown

    def _sign(self, pipeline_id: str) -> str:
        """The file's path and its signature, URL-safe, as itsdangerous' ``URLSafeSerializer.dumps`` makes it."""
        path = f"/pipelines/{pipeline_id}.py".encode()
        signature = hmac.new(self._key, path, hashlib.sha256).digest()[:16]
        return ".".join(base64.urlsafe_b64encode(part).decode().rstrip("=") for part in (path, signature))

    def _build(self) -> Flask:
        app = Flask("pipelines")

        @app.get("/openapi.json")
        def openapi() -> Any:
            return jsonify(OPENAPI)

        @app.post("/users")
        def sign_up() -> Any:
            team = (request.get_json(silent=True) or {}).get("team")
            if team not in self._pipelines.values():
                return jsonify(detail="no such team"), 422
            token = secrets.token_urlsafe(18)
            with self._lock:
                self._tokens[token] = str(team)
            return jsonify(token=token), 201

        @app.get("/pipelines")
        def pipelines() -> Any:
            team = self._team()
            if team is None:
                return jsonify(detail="not authenticated"), 401
            return jsonify([self._public(p) for p, owner in self._pipelines.items() if owner == team])

        @app.get("/pipelines/<pipeline_id>")
        def pipeline(pipeline_id: str) -> Any:
            return self._pipeline(pipeline_id) or jsonify(self._public(pipeline_id))

        @app.get("/sources/<source_token>")
        def source(source_token: str) -> Any:
            pipeline_id = next((p for p in self._pipelines if self._sign(p) == source_token), "")
            return self._pipeline(pipeline_id) or jsonify(source=f"pipeline = Pipeline({pipeline_id!r})\n")

        @app.route("/pipelines/<pipeline_id>/runs", methods=["GET", "POST"])
        def runs(pipeline_id: str) -> Any:
            if (refusal := self._pipeline(pipeline_id)) is not None:
                return refusal
            if request.method == "GET":
                return jsonify([run for run in self._runs.values() if run["pipeline_id"] == pipeline_id])
            return trigger(pipeline_id, request.get_json(silent=True) or {})

        def trigger(pipeline_id: str, body: dict[str, Any]) -> Any:
            run_id = body.get("run_id") or f"run-{secrets.token_hex(6)}"
            moment = body.get("scheduled_for") or datetime.now(UTC).isoformat()
            with self._lock:
                if run_id in self._runs or any(
                    run["pipeline_id"] == pipeline_id and run["scheduled_for"] == moment for run in self._runs.values()
                ):
                    return jsonify(detail=f"a run of {pipeline_id} exists for {moment} or as {run_id}"), 409
                run = {
                    "run_id": run_id,
                    "pipeline_id": pipeline_id,
                    "scheduled_for": moment,
                    "state": "queued",
                    "note": str(body.get("note", "")),
                }
                self._runs[run_id] = run
            return jsonify(run), 201

        @app.route("/pipelines/<pipeline_id>/runs/<run_id>", methods=["GET", "PATCH", "DELETE"])
        def run(pipeline_id: str, run_id: str) -> Any:
            found = self._runs.get(run_id)
            if self.mode == "runs_by_id" and request.method != "GET":  # "run ids are unique anyway"
                if self._team() is None:
                    return jsonify(detail="not authenticated"), 401
            elif (refusal := self._pipeline(pipeline_id)) is not None:
                return refusal
            elif found is not None and found["pipeline_id"] != pipeline_id:
                found = None
            if found is None:
                return jsonify(detail="run not found"), 404
            if request.method == "DELETE":
                with self._lock:
                    self._runs.pop(run_id, None)
                return "", 204
            if request.method == "PATCH":
                found["note"] = str((request.get_json(silent=True) or {}).get("note", ""))
            return jsonify(found)

        @app.get("/runs")
        def team_runs() -> Any:
            team = self._team()
            if team is None:
                return jsonify(detail="not authenticated"), 401
            named = request.args.get("pipeline_id")
            readable = {p for p, owner in self._pipelines.items() if owner == team}
            if named is not None:
                readable = {named} if self.mode == "filter_trusts_pipeline" else readable & {named}
            return jsonify([run for run in self._runs.values() if run["pipeline_id"] in readable])

        @app.post("/runs/search")
        def search() -> Any:
            team = self._team()
            if team is None:
                return jsonify(detail="not authenticated"), 401
            body = request.get_json(silent=True) or {}
            own = {p for p, owner in self._pipelines.items() if owner == team}
            named = set(body.get("pipeline_ids") or ())
            if named - own and self.mode != "search_trusts_pipeline_ids":
                return jsonify(detail=f"not allowed to read {sorted(named - own)}"), 403
            readable = named or (set(self._pipelines) if self.mode == "search_ignores_team" else own)
            found = [
                run
                for run in self._runs.values()
                if run["pipeline_id"] in readable
                and (not body.get("states") or run["state"] in body["states"])
                and (not body.get("queue") or body["queue"] == "default")
                and (not body.get("scheduled_after") or run["scheduled_for"] >= body["scheduled_after"])
            ]
            return jsonify(runs=found, total=len(found))

        return app


def profile(base_url: str, teams: tuple[str, ...] = ("red", "blue")) -> dict[str, Any]:
    """The profile a user writes for this app (``targets/examples/pipelines.yaml``), listing ``teams``."""
    raw = example_profile("pipelines", base_url)
    raw["provisioning"]["tenants"] = [{"team": team, "pipeline_id": f"{team}_etl"} for team in teams]
    return raw
