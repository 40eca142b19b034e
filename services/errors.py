"""Refusals of the services. Each message is shown to users as is (Bahasa Indonesia)."""

from __future__ import annotations


class ServiceError(Exception):
    """An action a service refuses; `str(error)` is the message for the user."""


class PermissionDenied(ServiceError):
    pass


class InvalidTime(ServiceError):
    pass


class InvalidTransition(ServiceError):
    pass


class InvalidInput(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class ConcurrentAction(ServiceError):
    """Someone else acted on the same case first; the database refused the second write."""
