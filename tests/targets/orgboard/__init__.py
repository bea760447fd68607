"""Orgboard, a project tracker in Django REST Framework: organizations are the tenants (see ``app.py``).

Django's settings are process-wide, so they are configured here, once, before any view is
imported; each app instance keeps its own state and mode (several run side by side in a test
session).
"""

from __future__ import annotations

import secrets

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="tests.targets.orgboard.app",
        INSTALLED_APPS=["rest_framework", "drf_spectacular"],
        MIDDLEWARE=[],
        DATABASES={},
        USE_TZ=True,
        # A 404 per refused attack is the point of the exercise, not news: only server errors are logged.
        LOGGING={"version": 1, "disable_existing_loggers": False, "loggers": {"django.request": {"level": "ERROR"}}},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["tests.targets.orgboard.auth.TokenAuth"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
            "UNAUTHENTICATED_USER": None,
        },
        SPECTACULAR_SETTINGS={"TITLE": "Orgboard", "VERSION": "2.3.0", "DISABLE_ERRORS_AND_WARNINGS": True},
    )
    django.setup()
