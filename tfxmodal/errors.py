"""Every error a user can cause, and the one table of exit codes of the command lines.

A user-facing error derives from `InputError`: a config, input file, weights
file, model or run directory that cannot be used, reported in one line on
stderr that names the key or the file, exit status 2. Each class also keeps
the built-in base it always had (`ValueError` or `RuntimeError`), so code
that catches those still does. `TrainingFailed` is the other outcome a
command reports rather than raises: training stopped on a non-finite loss,
exit status 3.

The command lines (`tfxmodal.cli`) catch `InputError` and `TrainingFailed`
and ask `exit_code` for the status; `python -m tfxmodal.train` and `ablate`
print `describe(error)`, the others prefix the line with their own name.
This module imports nothing, so every floor of the package can raise these.
"""

EXIT_OK = 0
EXIT_BAD_INPUT = 2  # a bad config, input file, weights file, model or run directory
EXIT_TRAINING_FAILED = 3  # training stopped on a non-finite loss; the last good checkpoint is kept


class InputError(Exception):
    """Base of every user-facing error: something the user gave cannot be used (exit 2).

    `label` starts the stderr line of `python -m tfxmodal.train` (`input
    error: <message>`); `hint` ends it.
    """

    label = "input error"
    hint = ""


# -- configs and run directories ---------------------------------------------------------------------------


class ConfigError(InputError, ValueError):
    """A config file or override that does not fit the task's schema."""

    label = "config error"


class RunDirectoryError(InputError, ValueError):
    """A directory that is not a run directory of a known task, or one that holds nothing to evaluate yet."""


class IncompatibleCheckpoint(InputError, ValueError):
    """A checkpoint whose variables do not match the networks being restored."""

    label = ""
    hint = "; use a new --out directory, or the code and config that wrote it"


class DamagedCheckpoints(InputError, RuntimeError):
    """Checkpoints exist but none of them can be read."""


# -- data and weights files --------------------------------------------------------------------------------


class AudioFileError(InputError, ValueError):
    """An audio file that is missing, unreadable, or not what was expected."""


class SoundfontError(InputError, RuntimeError):
    """The renderer or the soundfont file is not available."""


class ImageFileError(InputError, ValueError):
    """An image file that is missing, unreadable, or not what was expected."""


class DatasetLayoutError(InputError, ValueError):
    """A dataset directory that does not have the expected layout.

    Raised for a missing directory, a directory with no images, an empty
    class folder, a file outside any class folder, an unpaired file, ...;
    the message names the path and what was expected.
    """


class EmbeddingFileError(InputError, ValueError):
    """An embeddings file that is missing, unreadable or of the wrong shape."""


class NsynthDataError(InputError, ValueError):
    """NSynth data is missing or not in the expected format (the message says which file)."""


class WeightsFileError(InputError, ValueError):
    """A weights file that is missing or does not fit the network."""


class InceptionWeightsError(InputError, ValueError):
    """An Inception-v3 weights file that is missing or not the Keras ImageNet file's layout."""


# -- the command lines' own checks -----------------------------------------------------------------------


class UsageError(InputError):
    """Bad command-line input that argparse cannot see (an option of another command, too many paths)."""


class TranslateError(InputError, ValueError):
    """A model directory or input image that `python -m tfxmodal.translate` cannot use."""


# -- training --------------------------------------------------------------------------------------------------


class TrainingFailed(RuntimeError):
    """Training stopped on a non-finite loss; the last good checkpoint is kept (exit 3)."""

    label = "training stopped"
    hint = ""


def exit_code(error):
    """The exit status a command line ends with for `error`; None for an error that is a bug (let it raise)."""
    if isinstance(error, TrainingFailed):
        return EXIT_TRAINING_FAILED
    if isinstance(error, InputError):
        return EXIT_BAD_INPUT
    return None


def describe(error):
    """The one stderr line of a user-facing error: `<label>: <message><hint>`."""
    return f"{error.label}: {error}{error.hint}" if error.label else f"{error}{error.hint}"
