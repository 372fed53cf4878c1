"""`python -m tfxmodal.translate --model DIR face.jpg [...] -o OUT [--pitch P]`.

Translates face images to 16 kHz WAV notes with an exported face-to-music
SavedModel (`saved_models/face2music/<version>`), one WAV per face:
`OUT/<image stem>_pitch<P>.wav`. Every input is checked before any output is
written, and each WAV is written atomically: a bad input leaves no file.
"""

import argparse
import os
import sys

import numpy as np

from tfxmodal.domain import HIGHEST_PITCH, LOWEST_PITCH, SAMPLE_RATE


class TranslateError(ValueError):
    """A model directory or input image that cannot be used."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tfxmodal.translate",
        description="Translate face images to musical notes with an exported face2music SavedModel.",
    )
    parser.add_argument("images", nargs="+", help="face images (JPEG, PNG or BMP; any size)")
    parser.add_argument(
        "--model", required=True, help="SavedModel directory, or the model base dir (highest version is used)"
    )
    parser.add_argument("-o", "--out", required=True, help="output directory for the WAV files")
    parser.add_argument(
        "--pitch", type=int, default=None, help="MIDI pitch 24-84 for every face (default: the model's default pitch)"
    )
    return parser


def resolve_model_dir(path):
    """A SavedModel dir, or a TF Serving base dir → its highest version."""
    from tfxmodal.export.versions import existing_versions

    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = existing_versions(path)
    if versions:
        return os.path.join(path, str(versions[-1]))
    raise TranslateError(f"{path}: no saved_model.pb and no numbered version directories")


def load_images(paths):
    """uint8 `(height, width, 3)` arrays, one per path; errors name the file."""
    from tfxmodal.data.images import ImageFileError, check_image, read_image

    images = []
    for path in paths:
        try:
            check_image(path, full_decode=True)
        except ImageFileError as error:
            raise TranslateError(str(error)) from None
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
        check_distinct_stems(args.images)
        model_dir = resolve_model_dir(args.model)
        images = load_images(args.images)
    except TranslateError as error:
        print(f"translate: {error}", file=sys.stderr)
        return 2

    import tensorflow as tf

    from tfxmodal.audio.wav import write_wav

    model = tf.saved_model.load(model_dir)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
