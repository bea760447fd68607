"""Orgboard: projects and their tasks, per organization, in Django REST Framework with nested routers.

A person signs up with an organization (``POST /api/accounts/``), gets a DRF-style token from
``POST /api/auth/token/`` (``Authorization: Token <key>``), and works under
``/api/orgs/<org_handle>/projects/<slug>/tasks/<key>/``: slugs and keys are the ids, lists are
paginated (``{"count", "results"}``), the schema comes from drf-spectacular. Modes:

- ``secure``: the org in the path must be one of the caller's, the project one of that org's,
  the task one of that project's;
- ``org_membership_not_checked``: any signed-in user may name any org in the path ("the UI only
  links to your own orgs");
- ``project_not_in_org``: a project is looked up by its slug alone, never checked against the org
  in the path, so another org's project (and its tasks) open under one's own org;
- ``tasks_not_filtered``: the task list forgets to filter by project and shows every task.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.urls import include, path
from django.utils.text import slugify
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView
from rest_framework_nested import routers

from tests.targets import example_profile
from tests.targets.orgboard import auth

MODES = ("secure", "org_membership_not_checked", "project_not_in_org", "tasks_not_filtered")


class Orgboard:
    """One app instance with its own data and mode; ``app`` is its WSGI callable."""

    def __init__(self, mode: str = "secure") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown orgboard mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self.lock = threading.Lock()
        self.users: dict[str, str] = {}  # username -> password
        self.tokens: dict[str, str] = {}  # token -> username
        self.orgs: dict[str, dict[str, Any]] = {}  # handle -> org (members: set of usernames)
        self.projects: dict[str, dict[str, Any]] = {}  # slug -> project (org: handle)
        self.tasks: dict[str, dict[str, Any]] = {}  # key -> task (project: slug)
        self.app = self
        self._django = WSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ[auth.BOARD] = self
        response: Iterable[bytes] = self._django(environ, start_response)
        return response

    wsgi_app = __call__  # how tests/targets/serve.py tells a WSGI app


def board(request: Request) -> Orgboard:
    found: Orgboard = auth.board(request)
    return found


class TokenAuthScheme(OpenApiAuthenticationExtension):
    target_class = "tests.targets.orgboard.auth.TokenAuth"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <key>"}


class SignupSerializer(serializers.Serializer):
    username = serializers.SlugField(max_length=40)
    password = serializers.CharField(min_length=8, write_only=True)
    organization = serializers.CharField(max_length=80)


class OrganizationSerializer(serializers.Serializer):
    handle = serializers.SlugField(read_only=True)
    name = serializers.CharField(max_length=80)


class ProjectSerializer(serializers.Serializer):
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class TaskSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    title = serializers.CharField(max_length=200)
    done = serializers.BooleanField(default=False)


def unique_slug(text: str) -> str:
    return f"{slugify(text)[:30].strip('-')}-{secrets.token_hex(3)}"


class Signup(APIView):
    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=SignupSerializer, responses={201: OrganizationSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        given = SignupSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data, app = given.validated_data, board(request)
        handle = unique_slug(data["organization"])
        with app.lock:
            if data["username"] in app.users:
                raise exceptions.ValidationError({"username": ["A user with that username already exists."]})
            app.users[data["username"]] = data["password"]
            app.orgs[handle] = {"handle": handle, "name": data["organization"], "members": {data["username"]}}
        organization = OrganizationSerializer(app.orgs[handle]).data
        return Response({"username": data["username"], "organization": organization}, status=status.HTTP_201_CREATED)


class ObtainToken(APIView):
    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=SignupSerializer, responses={200: None}, auth=[])
    def post(self, request: Request) -> Response:
        app, username = board(request), str(request.data.get("username", ""))
        if app.users.get(username) != request.data.get("password"):
            raise exceptions.AuthenticationFailed("Unable to log in with provided credentials.")
        key = secrets.token_hex(20)
        with app.lock:
            app.tokens[key] = username
        return Response({"token": key})


class Schema(SpectacularAPIView):
    """drf-spectacular's view, one generation at a time: its generator keeps process-wide state, and several
    instances of this app serve side by side in a test session."""

    generating = threading.Lock()

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with self.generating:
            response: Response = super().get(request, *args, **kwargs)
            return response


def page(items: list[dict[str, Any]], serializer: type[serializers.Serializer]) -> Response:
    return Response({"count": len(items), "next": None, "previous": None, "results": serializer(items, many=True).data})


class OrgScoped(viewsets.GenericViewSet):
    """The org (and project) named in the path, checked against the caller as the mode says."""

    def app(self) -> Orgboard:
        return board(self.request)

    def organization(self, handle: str) -> dict[str, Any]:
        org = self.app().orgs.get(handle)
        member = org is not None and self.request.user.username in org["members"]
        if org is None or not (member or self.app().mode == "org_membership_not_checked"):
            raise exceptions.NotFound("No Organization matches the given query.")
        return org

    def project(self, slug: str) -> dict[str, Any]:
        org = self.organization(self.kwargs["org_handle"])
        project = self.app().projects.get(slug)
        if project is None or (project["org"] != org["handle"] and self.app().mode != "project_not_in_org"):
            raise exceptions.NotFound("No Project matches the given query.")
        return project

    def save(self, found: dict[str, Any], partial: bool = False) -> Response:
        given = self.get_serializer(found, data=self.request.data, partial=partial)
        given.is_valid(raise_exception=True)
        with self.app().lock:
            found.update(given.validated_data)
        return Response(self.get_serializer(found).data)


class OrganizationViewSet(OrgScoped):
    serializer_class = OrganizationSerializer
    lookup_field = "handle"

    def list(self, request: Request) -> Response:
        mine = [org for org in self.app().orgs.values() if request.user.username in org["members"]]
        return page(mine, OrganizationSerializer)

    def retrieve(self, request: Request, handle: str) -> Response:
        return Response(OrganizationSerializer(self.organization(handle)).data)


class ProjectViewSet(OrgScoped):
    serializer_class = ProjectSerializer
    lookup_field = "slug"

    def list(self, request: Request, org_handle: str) -> Response:
        org = self.organization(org_handle)
        return page([p for p in self.app().projects.values() if p["org"] == org["handle"]], ProjectSerializer)

    def create(self, request: Request, org_handle: str) -> Response:
        org = self.organization(org_handle)
        given = ProjectSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        project = {**given.validated_data, "slug": unique_slug(given.validated_data["name"]), "org": org["handle"]}
        with self.app().lock:
            self.app().projects[project["slug"]] = project
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, org_handle: str, slug: str) -> Response:
        return Response(ProjectSerializer(self.project(slug)).data)

    def update(self, request: Request, org_handle: str, slug: str) -> Response:
        return self.save(self.project(slug))

    def partial_update(self, request: Request, org_handle: str, slug: str) -> Response:
        return self.save(self.project(slug), partial=True)

    def destroy(self, request: Request, org_handle: str, slug: str) -> Response:
        project = self.project(slug)
        with self.app().lock:
            del self.app().projects[project["slug"]]
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskViewSet(OrgScoped):
    serializer_class = TaskSerializer
    lookup_field = "key"

    def task(self, project_slug: str, key: str) -> dict[str, Any]:
        project = self.project(project_slug)
        task = self.app().tasks.get(key)
        if task is None or task["project"] != project["slug"]:
            raise exceptions.NotFound("No Task matches the given query.")
        return task

    def list(self, request: Request, org_handle: str, project_slug: str) -> Response:
        project = self.project(project_slug)
        tasks = list(self.app().tasks.values())
        if self.app().mode != "tasks_not_filtered":
            tasks = [task for task in tasks if task["project"] == project["slug"]]
        return page(tasks, TaskSerializer)

    def create(self, request: Request, org_handle: str, project_slug: str) -> Response:
        project = self.project(project_slug)
        given = TaskSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        key = f"{project['slug'][:3].upper()}-{secrets.token_hex(4)}"
        task = {**given.validated_data, "key": key, "project": project["slug"]}
        with self.app().lock:
            self.app().tasks[key] = task
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, org_handle: str, project_slug: str, key: str) -> Response:
        return Response(TaskSerializer(self.task(project_slug, key)).data)

    def partial_update(self, request: Request, org_handle: str, project_slug: str, key: str) -> Response:
        return self.save(self.task(project_slug, key), partial=True)

    def destroy(self, request: Request, org_handle: str, project_slug: str, key: str) -> Response:
        task = self.task(project_slug, key)
        with self.app().lock:
            del self.app().tasks[task["key"]]
        return Response(status=status.HTTP_204_NO_CONTENT)


router = SimpleRouter()
router.register("orgs", OrganizationViewSet, basename="org")
orgs = routers.NestedSimpleRouter(router, "orgs", lookup="org")
orgs.register("projects", ProjectViewSet, basename="project")
projects = routers.NestedSimpleRouter(orgs, "projects", lookup="project")
projects.register("tasks", TaskViewSet, basename="task")

urlpatterns = [
    path("api/accounts/", Signup.as_view()),
    path("api/auth/token/", ObtainToken.as_view()),
    path("api/schema/", Schema.as_view(), name="schema"),
    path("api/", include(router.urls)),
    path("api/", include(orgs.urls)),
    path("api/", include(projects.urls)),
]


def profile(base_url: str) -> dict[str, Any]:
    """The profile a user writes for this app: ``targets/examples/orgboard.yaml``."""
    return example_profile("orgboard", base_url)
