"""Throughput of the face pipeline over the bundled LFW faces (`python -m tfxmodal.bench`'s `data` section)."""

from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.faces.pipeline import pipeline
from tfxmodal.data.faces.sources import LFW_NUM_FACES, lfw_faces
from tfxmodal.data.pipeline import measure_throughput


def benchmark(batch_size=32, image_size=64, num_batches=50):
    """Examples/s of the embedded (LFW) pipelines; JSON-able dict.

    Two numbers: `convert` — the per-example work (resize to RGB) without
    caching or shuffling; `train` — the training pipeline in its steady
    state (cached, shuffled, augmented), timed after one full epoch of
    warm-up (the shuffle buffer holds the whole epoch, so the first batch
    waits for all of it).
    """
    convert = lfw_faces(image_size).repeat().batch(batch_size).prefetch(pipeline_lib.AUTOTUNE)
    train = pipeline("lfw", batch_size=batch_size, training=True, image_size=image_size)
    epoch_batches = -(-LFW_NUM_FACES // batch_size)
    return {
        "source": "lfw",
        "batch_size": batch_size,
        "image_size": image_size,
        "convert": measure_throughput(convert, num_batches=num_batches),
        "train": measure_throughput(train, num_batches=num_batches, warmup_batches=epoch_batches + 2),
    }
