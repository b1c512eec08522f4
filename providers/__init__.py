"""Providers: async clients for the hosted APIs behind the endpoints (fal queue, Segmind v1)."""

from providers.base import Completed, Credentials, Job, LogLine, Provider, Queued, Result, ResultImage, Running
from providers.errors import ProviderError

__all__ = [
    "Completed",
    "Credentials",
    "Job",
    "LogLine",
    "Provider",
    "ProviderError",
    "Queued",
    "Result",
    "ResultImage",
    "Running",
]
