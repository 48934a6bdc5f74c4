#!/usr/bin/env python3
"""Open a vbt-written RocksDB partition with an independent RocksDB 9.x
(rocksdict) and print a JSON summary of its `default` column family.

Usage: open_partition.py <partition_dir> <BLOCK_BASED_TABLE|PLAIN_TABLE>
Prints {"count", "digest", "column_families", "rocksdb"} and exits 0;
on any error prints the cause to stderr and exits 1.
"""
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile

FORMATS = ("BLOCK_BASED_TABLE", "PLAIN_TABLE")


def make_options(fmt):
    from rocksdict import Options, PlainTableFactoryOptions

    # raw_mode: keys/values are plain bytes (no rocksdict pickling/comparator).
    # Must be set before set_plain_table_factory, which reads it.
    opts = Options(raw_mode=True)
    opts.create_if_missing(False)
    if fmt == "PLAIN_TABLE":
        pt = PlainTableFactoryOptions()
        pt.user_key_length = 0  # variable-length keys
        # Total-order mode: no prefix extractor. RocksDB then rejects any
        # non-zero hash_table_ratio ("PlainTable requires a prefix extractor
        # enable prefix hash mode."), and rocksdict's default is 0.75.
        pt.hash_table_ratio = 0.0
        opts.set_plain_table_factory(pt)
        # PlainTable's classic read mode (9.8.4 also reads it without mmap).
        opts.set_allow_mmap_reads(True)
    return opts  # BLOCK_BASED_TABLE: RocksDB's default table factory


def shadow_copy(src, dst):
    # rocksdict's Rdict() always (re)writes rocksdict-config.json into the DB
    # directory, even read-only, so we open a private shadow of the partition:
    # small metadata files are copied, immutable SST files are symlinked.
    for name in os.listdir(src):
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if name.endswith(".sst"):
            os.symlink(os.path.abspath(s), d)
        elif os.path.isdir(s):
            shutil.copytree(s, d)
        else:
            shutil.copy2(s, d)


def summarize(path, fmt):
    from rocksdict import AccessType, Rdict

    cfs = Rdict.list_cf(path, make_options(fmt))
    db = Rdict(
        path,
        make_options(fmt),
        # Passing every CF explicitly stops rocksdict from substituting the
        # options it would otherwise load from the partition's OPTIONS file.
        column_families={name: make_options(fmt) for name in cfs},
        access_type=AccessType.read_only(),
    )
    try:
        count, md5 = 0, hashlib.md5()
        for key, value in db.items():  # default CF, ascending key order
            for part in (key, value):
                md5.update(len(part).to_bytes(8, "big"))
                md5.update(part)
            count += 1
    finally:
        db.close()
    return count, md5.hexdigest(), cfs


def main(argv):
    if len(argv) != 3 or argv[2] not in FORMATS:
        raise ValueError(f"usage: {argv[0]} <partition_dir> <{'|'.join(FORMATS)}>")
    path, fmt = argv[1], argv[2]
    try:
        import rocksdict  # noqa: F401
    except ImportError as e:
        raise RuntimeError(f"{e}; run: pip install -r tests/rocksdb9/requirements.txt")
    # Check up front: rocksdict would otherwise create a missing directory.
    if not os.path.isdir(path):
        raise FileNotFoundError(f"partition directory does not exist: {path}")
    if not os.path.isfile(os.path.join(path, "CURRENT")):
        raise FileNotFoundError(f"not a RocksDB database (no CURRENT file): {path}")
    with tempfile.TemporaryDirectory(prefix="vbt-rocksdb9-") as shadow:
        shadow_copy(path, shadow)
        try:
            count, digest, cfs = summarize(shadow, fmt)
        except Exception as e:  # report errors against the real path
            raise RuntimeError("RocksDB: " + str(e).replace(shadow, path)) from None
    return {
        "count": count,
        "digest": digest,
        "column_families": cfs,
        "rocksdb": importlib.metadata.version("rocksdict"),
    }


if __name__ == "__main__":
    try:
        print(json.dumps(main(sys.argv)))
    except Exception as e:
        print(f"open_partition.py: failed to read RocksDB partition: {e}",
              file=sys.stderr)
        sys.exit(1)
