"""Serve fakes seeded from a rotation file until interrupted: `python -m fakes.serve slack`.

All of them run in this one process, so they share one throwaway CA; the `export` lines it prints
point the jobs at them (eval them in another shell, or copy what you need).
"""

from __future__ import annotations

import argparse
import threading

from fakes.base import fake_env
from fakes.github import GitHubFake
from fakes.pagerduty import PagerDutyFake
from fakes.pagerduty_events import PagerDutyEventsFake
from fakes.papercups import PapercupsFake
from fakes.sentry import SentryFake
from fakes.slack import SlackFake
from scripts.rotation import load as rotation
from scripts.tiers import directory

FAKES = {
    "pagerduty": PagerDutyFake,
    "pagerduty-events": PagerDutyEventsFake,
    "slack": SlackFake,
    "github": GitHubFake,
    "papercups": PapercupsFake,
    "sentry": SentryFake,
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("services", nargs="+", choices=sorted(FAKES))
    p.add_argument("--config", default="rotation.yaml")
    p.add_argument(
        "--customers",
        default="customers.example.yaml",
        help="the customer directory the GitHub fake's issues come from",
    )
    p.add_argument(
        "--shift-based",
        action="store_true",
        help="PagerDuty: seed the schedules shift-based (v3), each with a hand-made rotation",
    )
    opts = p.parse_args(argv)
    rot, _ = rotation.load(opts.config)
    fakes = []
    for name in dict.fromkeys(opts.services):
        fake = FAKES[name]()
        if name == "github":
            fake.seed_from_rotation(
                rot, directory.load_directory({directory.ENV_PATH: opts.customers})
            )
        elif name == "pagerduty" and opts.shift_based:
            fake.seed_from_rotation(rot, v3=tuple(rot.schedules()))
        else:
            fake.seed_from_rotation(rot)
        fakes.append(fake.start())
    for key, value in fake_env(*fakes).items():
        print(f"export {key}='{value}'", flush=True)
    try:
        threading.Event().wait()  # until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        for fake in fakes:
            fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
