"""SavedModel exports in the layout TF Serving reads: `<base>/<version>/saved_model.pb`."""

from tfxmodal.export.versions import next_version_dir

__all__ = ["next_version_dir"]
