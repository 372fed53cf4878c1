"""CAR-GAN's pipeline over Sub-URMP: sharding, distribution, unknown sources and splits."""

import numpy as np
import pytest
import tensorflow as tf

from tests.support.urmp_trees import collect
from tfxmodal.data.urmp import pipeline as urmp_pipeline
from tfxmodal.data.urmp.dataset import sub_urmp
from tfxmodal.data.urmp.layout import index as index_urmp


def test_pipeline_shards_and_distributes(tree, two_cpu_strategy):
    shards = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=pipeline_id, num_replicas_in_sync=2
        )
        shards.append(collect(sub_urmp(tree, "train", image_size=8, input_context=context)))
    assert [[int(e["label"]) for e in shard] for shard in shards] == [[1, 4, 12], [1, 4, 12]]
    everything = collect(sub_urmp(tree, "train", image_size=8))
    for i, example in enumerate(everything):  # disjoint and complete: pair i goes to shard i % 2
        np.testing.assert_array_equal(shards[i % 2][i // 2]["image"], example["image"])
    eval_batches = collect(
        urmp_pipeline.pipeline("sub_urmp", "test", batch_size=2, training=False, image_size=8, root=str(tree))
    )
    assert [len(b["label"]) for b in eval_batches] == [2, 1]
    distributed = two_cpu_strategy.distribute_datasets_from_function(
        lambda context: urmp_pipeline.pipeline(
            "sub_urmp", "train", batch_size=4, image_size=8, root=str(tree), input_context=context
        )
    )
    batch = next(iter(distributed))
    for key, shape in (
        ("image", (2, 8, 8, 3)),
        ("lms", (2, 8, 8, 1)),
        ("audio", (2, 8000)),
        ("label", (2,)),
    ):
        parts = two_cpu_strategy.experimental_local_results(batch[key])
        assert [tuple(p.shape) for p in parts] == [shape, shape]


def test_pipeline_rejects_unknown_source_and_split(tree):
    with pytest.raises(ValueError, match="source='urmp'"):
        urmp_pipeline.pipeline("urmp")
    with pytest.raises(ValueError, match="split='valid'"):
        index_urmp(tree, "valid")
