"""Small things every part uses."""

import statistics
import sys

GIB = 1 << 30
MIB = 1 << 20


class Failed(Exception):
    """A scenario or step failed; recorded, and the run goes on."""


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def log(msg):
    print(msg, file=sys.stderr, flush=True)
