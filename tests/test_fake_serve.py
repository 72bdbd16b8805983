"""`python -m fakes.serve` starts seeded fakes a client can reach; Ctrl-C stops them."""

import os
import signal
import subprocess
import sys

import requests


def test_serve_prints_exports_that_reach_the_fakes():
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakes.serve", "papercups", "sentry"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        env = {}
        while len(env) < 4:
            key, _, value = proc.stdout.readline().removeprefix("export ").strip().partition("=")
            env[key] = value.strip("'")
        answer = requests.get(
            f"{env['PAPERCUPS_API_URL']}/api/v1/conversations",
            headers={"Authorization": f"Bearer {env['PAPERCUPS_TOKEN']}"},
            timeout=5,
        )
        assert answer.status_code == 200 and "data" in answer.json()
    finally:
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=10) == 0
