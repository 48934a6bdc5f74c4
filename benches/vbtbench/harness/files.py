"""File-system helpers of the work dir."""

import os
import shutil


def dir_files(d):
    return sorted(os.path.join(d, n) for n in os.listdir(d) if os.path.isfile(os.path.join(d, n)))


def total_size(paths):
    return sum(os.path.getsize(x) for x in paths)


def settle():
    """Writes back what earlier runs left (deleted trees, dirty pages) before a measured run, so a
    run does not pay for the journal commits and discards of the previous one."""
    os.sync()


def rm(path):
    """Removes a directory and, if it is a vbt base directory, vbt's state beside it."""
    shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(str(path).rstrip("/") + ".vbt", ignore_errors=True)
