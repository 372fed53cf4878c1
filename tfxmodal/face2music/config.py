"""The face-to-music run config (`task: face2music`): schema, defaults, checks.

Defaults are the paper's (Kim et al. 2020, Sec. 5.2); `configs/` holds the
paper-scale and the demo configs.
"""

import dataclasses
import os
from typing import Literal

from tfxmodal.config import bounded
from tfxmodal.data.nsynth.families import MAX_SOUNDFONTS, MINI_NSYNTH_CONFIGS
from tfxmodal.domain import FACE_EMBEDDING_DIM, HIGHEST_PITCH, LOWEST_PITCH, MIN_FACE_PIXELS
from tfxmodal.errors import ConfigError
from tfxmodal.trainers.distribute import STRATEGIES


@dataclasses.dataclass
class AudioData:
    """Target audio: NSynth-like notes."""

    source: Literal["mini_nsynth", "tfds", "tfrecord"] = "mini_nsynth"
    data_dir: str | None = None  # TFDS data dir (mini_nsynth, tfds); None: TFDS default
    tfds_name: str = "nsynth/gansynth_subset"  # source tfds: nsynth/full or nsynth/gansynth_subset
    files: list[str] = dataclasses.field(default_factory=list)  # source tfrecord: Magenta TFRecord files
    split: str = "train"
    paper_filter: bool = True  # acoustic only, pitch 24-84 (the first 8192 samples are always used)
    # mini_nsynth: default (the paper's split: notes at random, instruments shared),
    # held_out_instruments (valid/test instruments never in train), tiny, tiny_held_out
    mini_nsynth_config: str = "default"
    soundfonts: list[str] = dataclasses.field(default_factory=list)  # mini_nsynth .sf2 files; []: TimGM6mb + Merlin
    # tfrecord: every record is checked; a bad one (or an empty or damaged file) is an input error naming the
    # file and the record, or with skip_bad_records is left out and listed in the run's audio_manifest.json.
    skip_bad_records: bool = False

    def validate(self):
        if self.mini_nsynth_config not in MINI_NSYNTH_CONFIGS:
            raise ConfigError(
                f"audio.mini_nsynth_config: expected one of {list(MINI_NSYNTH_CONFIGS)}, "
                f"got {self.mini_nsynth_config!r}"
            )
        if self.soundfonts and self.source != "mini_nsynth":
            raise ConfigError(
                f"audio.soundfonts: only used with audio.source 'mini_nsynth', not {self.source!r}; remove the list"
            )
        if self.skip_bad_records and self.source != "tfrecord":
            raise ConfigError(
                f"audio.skip_bad_records: only used with audio.source 'tfrecord' (raw NSynth records), "
                f"not {self.source!r}; remove it"
            )
        if len(self.soundfonts) > MAX_SOUNDFONTS:
            raise ConfigError(
                f"audio.soundfonts: at most {MAX_SOUNDFONTS} soundfonts (instrument labels "
                f"soundfont * 128 + program must stay below NSynth's 1006), got {len(self.soundfonts)}"
            )


@dataclasses.dataclass
class FaceData:
    """Source faces (or precomputed face embeddings)."""

    source: Literal["lfw_subset", "vggface2_dir", "vgg_face2_tfds", "image_folder", "embeddings"] = "lfw_subset"
    path: str | None = None  # directory (vggface2_dir, image_folder) or .npy/.tfrecord file (embeddings)
    data_dir: str | None = None  # TFDS data dir (vgg_face2_tfds)
    split: str = "train"
    max_faces: int | None = bounded(None, at_least=2)  # faces embedded: a seeded uniform sample of the source
    balance_identities: bool = False  # samples (max_faces, projection_faces) take identities in turn
    augment_copies: int = bounded(0, at_least=0)  # extra augmented views embedded per face (for tiny face sets)
    # Folder sources: "auto" fully decodes up to 10,000 files (catching corrupt JPEG data), else headers only;
    # "full" decodes every file. skip_bad_files: leave bad files out and count them in faces_manifest.json.
    validation: Literal["auto", "header", "full"] = "auto"
    skip_bad_files: bool = False  # see validation
    # Embedding streams the drawn faces: batch_size images in memory at a time, written in shards of
    # shard_size faces (a killed run resumes from the last complete shard; workers split the shards).
    shard_size: int = bounded(4096, at_least=1)
    batch_size: int = bounded(64, at_least=1)  # see shard_size


@dataclasses.dataclass
class FaceEmbedderSpec:
    kind: Literal["eigenfaces", "vggface2_resnet50"] = "vggface2_resnet50"
    weights: str | None = None  # keras-vggface ResNet-50 h5, or a Keras weights file of FaceEmbedder
    num_components: int = bounded(32, at_least=1, at_most=FACE_EMBEDDING_DIM)  # eigenfaces: principal components kept
    image_size: int = bounded(224, at_least=MIN_FACE_PIXELS)  # 224 for ResNet-50; 25 for eigenfaces of LFW faces
    projection_faces: int = bounded(
        10000, at_least=2
    )  # vggface2_resnet50 without a Dense-512 weight: faces for its PCA fit


@dataclasses.dataclass
class AudioEmbedderSpec:
    """ψ: trained here with a triplet loss unless `weights` is given."""

    weights: str | None = None  # a .weights.h5 of AudioEmbedder(width)
    width: int = bounded(64, at_least=1)
    steps: int = bounded(20000, at_least=1)  # at most this many steps (fewer when it converges)
    batch_size: int = bounded(128, at_least=2)
    learning_rate: float = bounded(2e-4, above=0)  # Sec. 5.2: Adam 2e-4 (0.5, 0.999) for all models
    beta_1: float = bounded(0.5, at_least=0, below=1)
    beta_2: float = bounded(0.999, at_least=0, below=1)
    margin: float = bounded(1.0, above=0)
    # Convergence: every N steps score 1-NN family accuracy of validation notes; 0: train `steps` steps
    validate_every: int = bounded(0, at_least=0)
    patience: int = bounded(5, at_least=1)  # checks without improvement before stopping (best weights kept)
    validation_split: str = "valid"
    validation_examples: int = bounded(500, at_least=2)


@dataclasses.dataclass
class Model:
    # baseline / metric / aux: Table 1's GAN ablation (aux is the paper's model);
    # aae: the adversarial-autoencoder baseline (Sec. 3.2.3).
    variant: Literal["baseline", "metric", "aux", "aae"] = "aux"
    width: int = bounded(64, at_least=1)  # d of Tables 3-4
    phase_shuffle_radius: int = bounded(2, at_least=0)
    power_iterations: int = bounded(1, at_least=1)
    # Table 3 puts a conditional batch norm in the generator's last block and Table 4 one in
    # every discriminator block; both train worse (docs/results.md, "Learning curves"), so they are off
    # unless asked for. WaveGAN's code has no batch norm at its output; SN-GAN critics have none.
    generator_output_batch_norm: bool = False
    discriminator_batch_norm: bool = False  # Table 4's batch norms in the critic (see generator_output_batch_norm)
    generator_spectral_norm: bool = True  # Sec. 3.2.1: the generator's dense and deconvolution weights too
    reconstruction_weight: float = bounded(10.0, at_least=0)  # aae: weight of the mean absolute waveform error
    # Departures that make the GAN follow the pitch at CPU scale (docs/learning_the_conditioning.md), all off
    # in the paper's recipe. AC-GAN (Odena et al. 2017; GANSynth): weight of D1's pitch cross-entropy on
    # real notes and of G's on its translations; 0: off.
    pitch_classifier_weight: float = bounded(0.0, at_least=0)
    # WaveGAN's --wavegan_genr_upsample: transposed (zero-stuffing transposed convolutions, Table 3) or
    # nearest (repeat, then a stride-1 convolution: no images of each layer's input rate).
    generator_upsample: Literal["transposed", "nearest"] = "transposed"
    # GANSynth: the one-hot pitch concatenated to the generator's input as well as the CBNs'.
    generator_pitch_input: bool = False
    # Source-filter (Wang et al. 2019, neural source-filter models; DDSP): a sine at the requested f0 as one more
    # input channel of the generator's last layer
    generator_excitation: bool = False


@dataclasses.dataclass
class Train:
    batch_size: int = bounded(128, at_least=2)  # global batch, divided over replicas (pairs need 2)
    steps: int = bounded(100000, at_least=1)  # generator updates
    critic_steps: int = bounded(5, at_least=1)  # discriminator updates per generator update
    learning_rate: float = bounded(2e-4, above=0)
    beta_1: float = bounded(0.5, at_least=0, below=1)
    beta_2: float = bounded(0.999, at_least=0, below=1)
    lr_decay_rate: float = bounded(0.9, above=0, at_most=1)
    lr_decay_epochs: float = bounded(
        100.0, above=0
    )  # lr · rate^(epoch / lr_decay_epochs); epoch = a pass over the target set
    metric_weight: float = bounded(10.0, at_least=0)  # λ of Eq. 5
    checkpoint_every: int = bounded(1000, at_least=1)  # steps; also the TensorBoard epoch
    keep_checkpoints: int = bounded(3, at_least=1)
    histograms: bool = True  # weight histograms in TensorBoard at every checkpoint
    jit_compile: bool = False  # XLA; ~30x slower for Conv1DTranspose on CPU
    # The networks' Keras dtype policy (tfxmodal/utils/precision.py); float32 where the maths needs it
    precision: Literal["float32", "mixed_bfloat16", "mixed_float16"] = "float32"
    strategy: str = "auto"  # auto, default, one_device, mirrored, multi_worker (docs/distributed.md)
    shuffle_buffer: int = bounded(10000, at_least=1)
    cache: bool = False  # cache decoded target clips in memory (mini datasets)


@dataclasses.dataclass
class Stats:
    max_examples: int = bounded(5000, at_least=2)  # clips / faces used for λ1, λ2, (μ, σ)


@dataclasses.dataclass
class Evaluation:
    """The learning curve during training, and the FID/IS classifiers it and `python -m tfxmodal.evaluate` share."""

    every_steps: int = bounded(
        0, at_least=0
    )  # score the generator every N steps (0: off): curve.json, curve.png, TensorBoard eval/*
    examples: int = bounded(512, at_least=3)  # faces translated (and real notes compared) at each point of the curve
    spectrograms: int = bounded(6, at_least=0)  # real-note / translation spectrogram pairs logged at each point
    classifier_steps: int = bounded(
        1000, at_least=1
    )  # training steps of each FID/IS classifier (pitch, family), trained once
    classifier_width: int | None = bounded(None, at_least=1)  # their width d; None: psi's width
    # Classifiers to convergence: every N steps their validation accuracy; stop after `patience` checks
    # without improvement, best weights kept (0: exactly classifier_steps steps)
    classifier_validate_every: int = bounded(0, at_least=0)
    classifier_patience: int = bounded(5, at_least=1)
    classifier_validation_split: str = "valid"
    # python -m tfxmodal.evaluate: translations and real notes compared by FID/IS (at most; fewer if the data has fewer)
    fid_examples: int = bounded(10000, at_least=3)
    classifiers_dir: str | None = None  # None: <run dir>/../classifiers (shared by an ablation's runs)


@dataclasses.dataclass
class Export:
    dir: str | None = "saved_models/face2music"  # versions go under it; None: <out>/saved_model
    default_pitch: int = bounded(60, at_least=LOWEST_PITCH, at_most=HIGHEST_PITCH)  # serving_default's MIDI pitch
    sample_faces: int = bounded(16, at_least=1)  # fixed faces translated to WAV and logged to TensorBoard


@dataclasses.dataclass
class Face2MusicConfig:
    task: Literal["face2music"]
    seed: int = bounded(0, at_least=0)
    audio: AudioData = dataclasses.field(default_factory=AudioData)
    faces: FaceData = dataclasses.field(default_factory=FaceData)
    face_embedder: FaceEmbedderSpec = dataclasses.field(default_factory=FaceEmbedderSpec)
    audio_embedder: AudioEmbedderSpec = dataclasses.field(default_factory=AudioEmbedderSpec)
    model: Model = dataclasses.field(default_factory=Model)
    train: Train = dataclasses.field(default_factory=Train)
    stats: Stats = dataclasses.field(default_factory=Stats)
    evaluation: Evaluation = dataclasses.field(default_factory=Evaluation)
    export: Export = dataclasses.field(default_factory=Export)

    def validate(self):
        if self.train.steps % self.train.checkpoint_every:
            raise ConfigError(
                f"train.steps: {self.train.steps} is not a multiple of train.checkpoint_every "
                f"({self.train.checkpoint_every})"
            )
        if self.train.strategy not in STRATEGIES:
            raise ConfigError(f"train.strategy: expected one of {list(STRATEGIES)}, got {self.train.strategy!r}")
        if self.train.precision != "float32" and self.model.variant == "aae":
            raise ConfigError(
                f"train.precision: {self.train.precision} is for the GAN variants; the aae baseline trains in float32"
            )
        if self.model.pitch_classifier_weight > 0 and self.model.variant == "aae":
            raise ConfigError(
                "model.pitch_classifier_weight: the auxiliary pitch classifier is for the GAN variants; "
                "the aae baseline has no conditional critic to put it on (set it to 0)"
            )
        if self.faces.source == "embeddings" and self.face_embedder.kind == "eigenfaces":
            raise ConfigError(
                "face_embedder.kind: eigenfaces are fitted on face images and faces.source 'embeddings' has none; "
                "use vggface2_resnet50 with the weights that made the embeddings (export and translate need them)"
            )
        if self.face_embedder.kind == "eigenfaces" and self.face_embedder.weights:
            raise ConfigError("face_embedder.weights: eigenfaces are fitted on the faces, not loaded; remove the path")
        if self.face_embedder.kind == "vggface2_resnet50" and not self.face_embedder.weights:
            raise ConfigError(
                "face_embedder.weights: the vggface2_resnet50 embedder needs a weights file "
                "(rcmalli_vggface_tf_notop_resnet50.h5 or a Keras FaceEmbedder .weights.h5); "
                "without one use face_embedder.kind: eigenfaces"
            )
        self._check_paths()

    def _check_paths(self):
        needs_path = {"vggface2_dir", "image_folder", "embeddings"}
        if self.faces.source in needs_path and not self.faces.path:
            raise ConfigError(f"faces.path: required for faces.source {self.faces.source!r}")
        if self.audio.source == "tfrecord" and not self.audio.files:
            raise ConfigError("audio.files: list the Magenta NSynth TFRecord files for audio.source 'tfrecord'")
        if self.audio.source == "tfds" and not self.audio.data_dir:
            raise ConfigError("audio.data_dir: required for audio.source 'tfds' (the dir holding the prepared nsynth)")
        existing = {
            "faces.path": self.faces.path,
            "faces.data_dir": self.faces.data_dir,
            "audio.data_dir": self.audio.data_dir if self.audio.source == "tfds" else None,
            "face_embedder.weights": self.face_embedder.weights,
            "audio_embedder.weights": self.audio_embedder.weights,
        }
        for key, path in existing.items():
            if path and not os.path.exists(path):
                raise ConfigError(f"{key}: {path} does not exist")
        for index, path in enumerate(self.audio.files):
            if not os.path.exists(path):
                raise ConfigError(f"audio.files[{index}]: {path} does not exist")
        if self.export.dir and os.path.isfile(self.export.dir):
            raise ConfigError(
                f"export.dir: {self.export.dir} is a file; expected a directory for the SavedModel versions"
            )
        for index, path in enumerate(self.audio.soundfonts):
            if not os.path.isfile(path):
                raise ConfigError(f"audio.soundfonts[{index}]: {path} does not exist (expected a .sf2 file)")
