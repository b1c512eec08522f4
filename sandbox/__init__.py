"""A local server speaking the fal queue/storage and Segmind v1 protocols, answering with synthetic images."""

from sandbox.app import create_app
from sandbox.embedded import RunningSandbox, start_sandbox
from sandbox.options import SandboxOptions

__all__ = ["RunningSandbox", "SandboxOptions", "create_app", "start_sandbox"]
