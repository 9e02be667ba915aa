# JupyterHub for a class: one single-user server per person, the dashboard as each user's page.
#
#   jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
#
# Every user lands on /user/<name>/voila/render/notebooks/dashboard.ipynb: the same Voila page as
# `make dashboard` and Binder, rendered by Voila's Jupyter Server extension, with the same
# security settings (binder/jupyter_server_config.json == paramshare_viz/app/voila.json, kept in step
# by tests/test_packaging.py): sources stripped, no tracebacks, no template override, only images
# served as files, kernels of closed pages culled after 60 s. The hub's idle culler
# (jupyterhub-idle-culler, a hub service) stops whole servers left idle, so a lecture hall's servers
# go away after the lecture.
#
# What to change for a real deployment:
#   authenticator   system users (PAM) here; a class usually signs in with the school's OAuth provider
#   spawner         one system user per person (LocalProcessSpawner); tests/test_jupyterhub.py loads
#                   this file and switches to the dummy authenticator and SimpleLocalProcessSpawner
#   root folder     PSV_HUB_ROOT: a folder holding notebooks/ (default: this checkout)
#   idle timeout    PSV_HUB_IDLE_TIMEOUT seconds before a server with no activity is stopped (3600)
# On Kubernetes use Zero to JupyterHub with deploy/jupyterhub/z2jh-values.yaml instead of this file:
# it sets the same default URL, limits and culler for KubeSpawner.

import os
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (JupyterHub's config loader provides it)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
IDLE_TIMEOUT = int(os.environ.get("PSV_HUB_IDLE_TIMEOUT", "3600"))

c.JupyterHub.authenticator_class = "pam"
c.JupyterHub.spawner_class = "localprocess"

# Each user's server runs in the hub's own Python environment (where paramshare_viz and Voila are).
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
# Each user's page is the dashboard, not JupyterLab.
c.Spawner.default_url = "/voila/render/notebooks/dashboard.ipynb"
c.Spawner.notebook_dir = os.environ.get("PSV_HUB_ROOT", str(REPO))
# The dashboard's Voila and kernel-culling settings and the page's Voila template (the lab template
# less its CDN links), found where Binder's postBuild installs them.
c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": str(REPO / "binder"),
    "JUPYTER_PATH": str(REPO / "paramshare_viz/app/share/jupyter"),
}

# Per-user limits. LocalProcessSpawner only passes them on (MEM_LIMIT, CPU_LIMIT in the server's
# environment); KubeSpawner and the systemd/Docker spawners enforce them. One visitor's kernel holds
# about 400 MB at its first view and a second of CPU to start (benchmarks/bench_visitors.py).
c.Spawner.mem_limit = "1G"
c.Spawner.cpu_limit = 1.0
c.Spawner.start_timeout = 120  # a cold server imports torch before its first page
c.Spawner.http_timeout = 120

# The idle culler: stop servers with no activity for IDLE_TIMEOUT seconds (checked every tenth of it).
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable, "-m", "jupyterhub_idle_culler",
            f"--timeout={IDLE_TIMEOUT}", f"--cull-every={max(IDLE_TIMEOUT // 10, 5)}",
        ],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
