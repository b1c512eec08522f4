"""A local server speaking the fal queue/storage and Segmind v1 protocols, answering with synthetic images."""

from sandbox.app import create_app
from sandbox.embedded import RunningSandbox, start_sandbox
from sandbox.options import SandboxOptions
from sandbox.pricing import DEFAULT_PRICES, ModelPrice

__all__ = ["DEFAULT_PRICES", "ModelPrice", "RunningSandbox", "SandboxOptions", "create_app", "start_sandbox"]
