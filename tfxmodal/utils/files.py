"""Atomic writes: a file or directory appears complete or not at all."""

import contextlib
import glob
import json
import os
import shutil
import tempfile

import numpy as np


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(final_path):
    """Removes `.<name>.<pid>.*.tmp` siblings of `final_path` left by processes that died (e.g. `kill -9`)."""
    parent = os.path.dirname(os.path.abspath(final_path)) or "."
    base = os.path.basename(final_path)
    for stale in glob.glob(os.path.join(glob.escape(parent), f".{glob.escape(base)}.*.tmp")):
        parts = os.path.basename(stale)[len(base) + 2 :].split(".")
        if parts and parts[0].isdigit() and int(parts[0]) != os.getpid() and not _process_alive(int(parts[0])):
            if os.path.isdir(stale):
                shutil.rmtree(stale, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(stale)


@contextlib.contextmanager
def atomic_path(final_path, directory=False):
    """Yields a temporary sibling path; renames it to `final_path` on success.

    On an exception the temporary file or directory is removed and
    `final_path` is left as it was, so a killed or failed write never leaves
    a half-written output under the real name; the temporaries of writers
    that were killed are removed by the next write of the same path. The
    result gets the permissions a plain `open`/`mkdir` would give under the
    process's umask (temporary files are private), so that a server running
    as another user (TF Serving) can read an export.
    """
    final_path = os.fspath(final_path)
    parent = os.path.dirname(os.path.abspath(final_path)) or "."
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(final_path)
    remove_stale_temporaries(final_path)
    prefix = f".{base}.{os.getpid()}."
    if directory:
        temp = tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent)
    else:
        handle, temp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
        os.close(handle)
    try:
        yield temp
        if os.path.exists(temp):
            os.chmod(temp, (0o777 if directory else 0o666) & ~_umask())
        if directory and os.path.isdir(final_path):
            shutil.rmtree(final_path)
        os.replace(temp, final_path)
    except BaseException:
        if os.path.isdir(temp):
            shutil.rmtree(temp, ignore_errors=True)
        elif os.path.exists(temp):
            os.remove(temp)
        raise


def save_npy(path, array):
    """`np.save` to `path` atomically."""
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        np.save(handle, array)


def save_npz(destination, /, **arrays):
    """`np.savez(**arrays)` to `destination` atomically (arrays of numbers or strings; any names, `path` too)."""
    with atomic_path(destination) as temp, open(temp, "wb") as handle:
        np.savez(handle, **arrays)


def save_weights(model, path):
    """`model.save_weights(path)` atomically (`path` must end in `.weights.h5`)."""
    if not str(path).endswith(".weights.h5"):
        raise ValueError(f"{path}: Keras weights files must end in .weights.h5")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    temp = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.tmp.weights.h5")
    try:
        model.save_weights(temp)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def save_text(path, text):
    """Writes the string `text` (UTF-8) to `path` atomically."""
    with atomic_path(path) as temp, open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)


def save_json(path, payload, **dump_options):
    """`json.dump(payload)` to `path` atomically, indented by 1; `dump_options` go to `json.dump`."""
    with atomic_path(path) as temp, open(temp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, **{"indent": 1, **dump_options})


def read_json(path):
    """The JSON value stored in `path`."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
