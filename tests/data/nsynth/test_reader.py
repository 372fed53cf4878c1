"""NSynth from any source: TFDS via the real mini_nsynth build beside raw TFRecords, sharding, the training pipeline."""

import numpy as np
import pytest
import tensorflow as tf

from tests.support.nsynth_records import TRAIN_NOTES, collect
from tfxmodal.data import pipeline
from tfxmodal.data.nsynth import families as labels
from tfxmodal.data.nsynth.reader import embedded_pipeline, input_pipeline, is_tfrecord_source, read_tfds
from tfxmodal.data.nsynth.reader import read as read_nsynth
from tfxmodal.errors import NsynthDataError


def test_tfds_reader_gives_the_same_format(mini_nsynth_tiny, magenta_dir):
    data_dir = mini_nsynth_tiny["data_dir"]
    from_tfds = read_nsynth("mini_nsynth/tiny", "train", data_dir=data_dir)
    assert from_tfds.element_spec == read_nsynth(magenta_dir, "train").element_spec
    examples = collect(from_tfds)
    assert len(examples) == 20
    for example in examples:
        instrument = labels.label_instrument(example["instrument"])  # soundfont * 128 + GM program
        assert example["family"] == labels.family_index(instrument.family)
        assert example["source"] == labels.source_index(instrument.source)
        assert example["id"].decode() == labels.note_str(instrument, example["pitch"], example["velocity"])
    filtered = collect(read_tfds("mini_nsynth/tiny", "train", data_dir, paper_filter=True))
    assert len(filtered) == mini_nsynth_tiny["splits"]["train"]["sources"]["acoustic"]
    assert {e["source"] for e in filtered} == {0}
    assert {e["family"] for e in filtered} == {labels.family_index(f) for f in labels.PAPER_FAMILIES}
    full = {e["id"]: e["audio"] for e in examples}
    for example in filtered:
        assert example["audio"].shape == (8192,)
        np.testing.assert_array_equal(example["audio"], full[example["id"]][:8192])


def test_tfds_reader_errors_name_the_data_dir(tmp_path, mini_nsynth_tiny):
    with pytest.raises(NsynthDataError, match=f"'nsynth/full' is not prepared in {tmp_path}"):
        read_tfds("nsynth/full", "train", str(tmp_path))
    with pytest.raises(NsynthDataError, match="'mini_nsynth/default' is not prepared in"):
        read_nsynth("mini_nsynth/default", data_dir=mini_nsynth_tiny["data_dir"])
    with pytest.raises(NsynthDataError, match="has no split 'dev'"):
        read_nsynth("mini_nsynth/tiny", "dev", data_dir=mini_nsynth_tiny["data_dir"])
    with pytest.raises(NsynthDataError, match="no TFDS dataset named 'nsynthh'"):
        read_nsynth("nsynthh")


def shard_ids(make_dataset):
    shards = []
    for index in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=index, num_replicas_in_sync=2)
        shards.append([e["id"] for e in collect(make_dataset(context))])
    return shards


def test_sharding_splits_examples_between_input_pipelines(mini_nsynth_tiny, magenta_dir):
    data_dir = mini_nsynth_tiny["data_dir"]
    for make, total in [
        (lambda c: read_tfds("mini_nsynth/tiny", "train", data_dir, input_context=c), 20),
        (lambda c: read_nsynth(magenta_dir, "train", input_context=c), len(TRAIN_NOTES)),
    ]:
        first, second = shard_ids(make)
        assert first and second and not set(first) & set(second)
        assert len(first) + len(second) == total


def test_input_pipeline_batches_for_training_and_evaluation(mini_nsynth_tiny):
    data_dir = mini_nsynth_tiny["data_dir"]
    training = input_pipeline("mini_nsynth/tiny", "train", 8, data_dir=data_dir, paper_filter=True, seed=3)
    batches = list(training.take(4).as_numpy_iterator())  # 17 acoustic notes: repeats
    assert all(b["audio"].shape == (8, 8192) for b in batches)
    assert all(set(b["source"]) == {0} for b in batches)
    evaluation = input_pipeline("mini_nsynth/tiny", "valid", 4, data_dir=data_dir, training=False)
    sizes = [len(b["id"]) for b in evaluation.as_numpy_iterator()]
    assert sizes == [4, 4, 2]  # one pass, remainder kept
    distributed_context = tf.distribute.InputContext(1, 0, num_replicas_in_sync=2)
    per_replica = input_pipeline(
        "mini_nsynth/tiny", "valid", 4, data_dir=data_dir, training=False,
        input_context=distributed_context,
    )  # fmt: skip
    assert len(next(iter(per_replica))["id"]) == 2


def test_distributed_training_pipeline(two_cpu_strategy, mini_nsynth_tiny):
    data_dir = mini_nsynth_tiny["data_dir"]

    def dataset_fn(input_context):
        return input_pipeline(
            "mini_nsynth/tiny", "train", 4, data_dir=data_dir, input_context=input_context,
            paper_filter=True, seed=0,
        )  # fmt: skip

    distributed = two_cpu_strategy.distribute_datasets_from_function(dataset_fn)
    batch = next(iter(distributed))

    @tf.function
    def step(batch):
        def per_replica(examples):
            energy = tf.reduce_sum(tf.square(examples["audio"]), axis=1)
            return tf.shape(examples["audio"]), tf.reduce_sum(energy)

        return two_cpu_strategy.run(per_replica, args=(batch,))

    shapes, energies = step(batch)
    local_shapes = two_cpu_strategy.experimental_local_results(shapes)
    assert [list(s.numpy()) for s in local_shapes] == [[2, 8192], [2, 8192]]
    ids = [x.numpy().tolist() for x in two_cpu_strategy.experimental_local_results(batch["id"])]
    assert not set(ids[0]) & set(ids[1])  # each replica gets its own examples
    assert all(e.numpy() > 0 for e in two_cpu_strategy.experimental_local_results(energies))


def test_embedded_pipeline_and_throughput(mini_nsynth_tiny):
    dataset = embedded_pipeline(4, config="tiny", data_dir=mini_nsynth_tiny["data_dir"], seed=0, cache=True)
    assert dataset.element_spec["audio"].shape.as_list() == [4, 8192]
    result = pipeline.measure_throughput(dataset, num_batches=5, warmup_batches=1)
    assert result["batches"] == 5 and result["examples"] == 20
    assert result["examples_per_second"] > 0


def test_source_kind_detection():
    assert is_tfrecord_source(["a", "b"])
    assert is_tfrecord_source("/data/nsynth")
    assert is_tfrecord_source("nsynth-train.tfrecord")
    assert is_tfrecord_source("data/*.tfrecord*")
    assert not is_tfrecord_source("nsynth/gansynth_subset")
    assert not is_tfrecord_source("mini_nsynth")
