"""Dataset readers, one package per dataset, and what they share.

- `nsynth/`: NSynth notes (TFDS builds, raw Magenta TFRecords) and the
  embedded mini-NSynth (face → music's targets);
- `faces/`: face images and precomputed embeddings (face → music's
  sources), VGGFace2, the bundled LFW faces;
- `urmp/`: Sub-URMP frames and audio chunks and the embedded mini-URMP
  (CAR-GAN's pairs);
- `images.py` (image files checked and decoded), `pipeline.py` (tf.data
  batching, sharding, caching), `tfds_utils.py` (offline, deterministic TFDS).

`python -m tfxmodal.data` is the `tfxmodal.cli.data` command.
"""
