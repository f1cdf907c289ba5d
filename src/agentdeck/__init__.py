"""agentdeck: self-hosted operations for fleets of AI agents."""

from importlib.metadata import PackageNotFoundError, version

try:
    # the installed distribution's version, which the build takes from the git tag
    # (pyproject.toml, [tool.hatch.version]); docs/operations.md describes the releases
    __version__ = version("agentdeck")
except PackageNotFoundError:  # the source tree on sys.path without being installed
    __version__ = "0.0.0+unknown"
