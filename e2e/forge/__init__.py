"""A real Git forge (Gitea) on 127.0.0.1 for the tests and people, without Docker.

python -m e2e.forge build     # build (or find) the cached binary
python -m e2e.forge up --dir DIR
"""

from e2e.buildcache import BuildError
from e2e.forge.binary import GITEA_VERSION, GiteaBinary, ensure_gitea
from e2e.forge.server import ADMIN_USER, ApiAnswer, GiteaError, GiteaServer

__all__ = [
    "ADMIN_USER",
    "GITEA_VERSION",
    "ApiAnswer",
    "BuildError",
    "GiteaBinary",
    "GiteaError",
    "GiteaServer",
    "ensure_gitea",
]
