"""Version directories for TF Serving's model base path."""

import os


def existing_versions(base_dir):
    """Sorted integer version directories under `base_dir`."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(
        int(name) for name in os.listdir(base_dir) if name.isdigit() and os.path.isdir(os.path.join(base_dir, name))
    )


def next_version_dir(base_dir):
    """`<base_dir>/<highest existing version + 1>` (1 when there is none)."""
    versions = existing_versions(base_dir)
    return os.path.join(base_dir, str(versions[-1] + 1 if versions else 1))
