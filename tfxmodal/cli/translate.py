"""`python -m tfxmodal.translate --model DIR face.jpg [...] -o OUT [--pitch P]`.

Translates face images to 16 kHz WAV notes with an exported face-to-music
SavedModel (`saved_models/face2music/<version>`, the highest version that
holds a SavedModel), one WAV per face: `OUT/<image stem>_pitch<P>.wav`.
Every input (the model, each image, `-o`) is checked before any output is
written, and each WAV is written atomically: a bad input leaves no file.
"""

import argparse
import os
import sys

import numpy as np

from tfxmodal.domain import HIGHEST_PITCH, LOWEST_PITCH, MIN_FACE_PIXELS, SAMPLE_RATE
from tfxmodal.errors import EXIT_OK, ImageFileError, InputError, TranslateError, exit_code
from tfxmodal.export.versions import existing_versions


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tfxmodal.translate",
        description="Translate face images to musical notes with an exported face2music SavedModel.",
    )
    parser.add_argument(
        "images", nargs="+", help=f"face images (JPEG, PNG or BMP; at least {MIN_FACE_PIXELS}x{MIN_FACE_PIXELS} pixels)"
    )
    parser.add_argument(
        "--model", required=True, help="SavedModel directory, or the model base dir (highest version is used)"
    )
    parser.add_argument("-o", "--out", required=True, help="output directory for the WAV files")
    parser.add_argument(
        "--pitch", type=int, default=None, help="MIDI pitch 24-84 for every face (default: the model's default pitch)"
    )
    return parser


def resolve_model_dir(path):
    """A SavedModel dir, or a TF Serving base dir → its highest version that holds a SavedModel.

    Returns:
        `(model dir, skipped)`: `skipped` lists the higher version
        directories passed over because they hold no `saved_model.pb`
        (empty, or an export that never finished).
    """
    if not os.path.exists(path):
        raise TranslateError(f"--model {path}: no such directory (expected a SavedModel or its base directory)")
    if not os.path.isdir(path):
        raise TranslateError(f"--model {path}: a file; expected a SavedModel directory or its base directory")
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path, []
    skipped = []
    for version in reversed(existing_versions(path)):
        candidate = os.path.join(path, str(version))
        if os.path.isfile(os.path.join(candidate, "saved_model.pb")):
            return candidate, skipped
        skipped.append(candidate)
    if skipped:
        raise TranslateError(
            f"--model {path}: no version directory holds a saved_model.pb (empty or unfinished: "
            f"{', '.join(os.path.basename(name) for name in skipped)})"
        )
    raise TranslateError(f"--model {path}: no saved_model.pb and no numbered version directories")


def load_model(model_dir):
    """The face2music SavedModel in `model_dir`; `TranslateError` naming the directory if it is not one."""
    import tensorflow as tf  # noqa: PLC0415 — TensorFlow only once the inputs are checked: bad input fails fast
    from google.protobuf.message import DecodeError  # noqa: PLC0415 — protobuf comes with TensorFlow: loaded with it

    try:
        model = tf.saved_model.load(model_dir)
    except (DecodeError, OSError, ValueError, tf.errors.OpError) as error:
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise TranslateError(
            f"--model {model_dir}: not a readable SavedModel ({type(error).__name__}: {reason})"
        ) from None
    missing = [name for name in ("serving_default", "translate") if name not in model.signatures]
    if missing:
        raise TranslateError(
            f"--model {model_dir}: not a face2music SavedModel (no {' or '.join(missing)} signature; it has "
            f"{sorted(model.signatures) or 'none'})"
        )
    return model


def check_output_dir(path):
    """`-o` must be a directory, or a path where one can be made (its nearest existing ancestor a directory)."""
    absolute = os.path.abspath(path)
    if os.path.exists(absolute) and not os.path.isdir(absolute):
        raise TranslateError(f"-o {path}: a file; expected a directory for the WAV files")
    ancestor = absolute
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise TranslateError(f"-o {path}: {ancestor} is a file, so no directory can be made there for the WAV files")


def load_images(paths):
    """uint8 `(height, width, 3)` arrays, one per path; errors name the file.

    A face smaller than `MIN_FACE_PIXELS` on a side is refused: no face
    embedder takes an input that small.
    """
    from tfxmodal.data.images import check_image, read_image  # noqa: PLC0415 — imports TensorFlow: bad arguments fail before it loads

    images = []
    for path in paths:
        try:
            info = check_image(path, full_decode=True)
        except ImageFileError as error:
            raise TranslateError(str(error)) from None
        if min(info.width, info.height) < MIN_FACE_PIXELS:
            raise TranslateError(
                f"{path}: {info.width}x{info.height} pixels; a face must be at least "
                f"{MIN_FACE_PIXELS}x{MIN_FACE_PIXELS} pixels (the smallest face-embedder input)"
            )
        images.append(np.asarray(read_image(path)).round().clip(0, 255).astype(np.uint8))
    return images


def check_distinct_stems(paths):
    """Every output is `<stem>_pitch<P>.wav`: two images with one stem would overwrite each other."""
    seen = {}
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in seen:
            raise TranslateError(
                f"{seen[stem]} and {path} would both be written as {stem}_pitch<P>.wav; rename one of them"
            )
        seen[stem] = path


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.pitch is not None and not LOWEST_PITCH <= args.pitch <= HIGHEST_PITCH:
            raise TranslateError(f"--pitch {args.pitch}: expected a MIDI pitch in {LOWEST_PITCH}..{HIGHEST_PITCH}")
        check_output_dir(args.out)
        check_distinct_stems(args.images)
        model_dir, skipped = resolve_model_dir(args.model)
        images = load_images(args.images)
        for passed_over in skipped:
            print(
                f"translate: {passed_over}: no saved_model.pb (empty or unfinished); using {model_dir}", file=sys.stderr
            )
        model = load_model(model_dir)
    except InputError as error:
        print(f"translate: {error}", file=sys.stderr)
        return exit_code(error)

    import tensorflow as tf  # noqa: PLC0415 — TensorFlow only once the inputs are checked: bad input fails fast

    from tfxmodal.audio.wav import write_wav  # noqa: PLC0415 — tfxmodal.audio imports TensorFlow: loaded once the inputs are checked

    written = []
    for path, image in zip(args.images, images):
        batch = tf.constant(image[None])
        if args.pitch is None:
            outputs = model.signatures["serving_default"](images=batch)
        else:
            outputs = model.signatures["translate"](images=batch, pitch=tf.constant([args.pitch], tf.int32))
        pitch = int(outputs["pitch"].numpy()[0])
        stem = os.path.splitext(os.path.basename(path))[0]
        target = os.path.join(args.out, f"{stem}_pitch{pitch}.wav")
        write_wav(target, outputs["waveform"].numpy()[0], SAMPLE_RATE)
        written.append(target)
        print(target)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
