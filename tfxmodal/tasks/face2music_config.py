"""The face-to-music run config (`task: face2music`): schema, defaults, checks.

Defaults are the paper's (Kim et al. 2020, Sec. 5.2); `configs/` holds the
paper-scale and the demo configs.
"""

import dataclasses
import os
from typing import Literal, Optional

from tfxmodal.config import ConfigError
from tfxmodal.data.nsynth_families import MAX_SOUNDFONTS, MINI_NSYNTH_CONFIGS
from tfxmodal.trainers.distribute import STRATEGIES


@dataclasses.dataclass
class AudioData:
    """Target audio: NSynth-like notes."""

    source: Literal["mini_nsynth", "tfds", "tfrecord"] = "mini_nsynth"
    data_dir: Optional[str] = None  # TFDS data dir (mini_nsynth, tfds); None: TFDS default
    tfds_name: str = "nsynth/gansynth_subset"  # source tfds: nsynth/full or nsynth/gansynth_subset
    files: list[str] = dataclasses.field(default_factory=list)  # source tfrecord: Magenta TFRecord files
    split: str = "train"
    paper_filter: bool = True  # acoustic only, pitch 24-84 (the first 8192 samples are always used)
    # mini_nsynth: default (the paper's split: notes at random, instruments shared),
    # held_out_instruments (valid/test instruments never in train), tiny, tiny_held_out
    mini_nsynth_config: str = "default"
    soundfonts: list[str] = dataclasses.field(default_factory=list)  # mini_nsynth .sf2 files; []: TimGM6mb + Merlin

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
        if len(self.soundfonts) > MAX_SOUNDFONTS:
            raise ConfigError(
                f"audio.soundfonts: at most {MAX_SOUNDFONTS} soundfonts (instrument labels "
                f"soundfont * 128 + program must stay below NSynth's 1006), got {len(self.soundfonts)}"
            )


@dataclasses.dataclass
class FaceData:
    """Source faces (or precomputed face embeddings)."""

    source: Literal["lfw_subset", "vggface2_dir", "vgg_face2_tfds", "image_folder", "embeddings"] = "lfw_subset"
    path: Optional[str] = None  # directory (vggface2_dir, image_folder) or .npy/.tfrecord file (embeddings)
    data_dir: Optional[str] = None  # TFDS data dir (vgg_face2_tfds)
    split: str = "train"
    max_faces: Optional[int] = None  # cap on faces embedded (seeded subset)
    augment_copies: int = 0  # extra augmented views embedded per face (for tiny face sets)


@dataclasses.dataclass
class FaceEmbedderSpec:
    kind: Literal["eigenfaces", "vggface2_resnet50"] = "vggface2_resnet50"
    weights: Optional[str] = None  # keras-vggface ResNet-50 h5, or a Keras weights file of FaceEmbedder
    num_components: int = 32  # eigenfaces: principal components kept
    image_size: int = 224  # 224 for ResNet-50; 25 for eigenfaces of the bundled LFW faces
    projection_faces: int = 10000  # vggface2_resnet50 without a Dense-512 weight: faces for its PCA fit


@dataclasses.dataclass
class AudioEmbedderSpec:
    """ψ: trained here with a triplet loss unless `weights` is given."""

    weights: Optional[str] = None  # a .weights.h5 of AudioEmbedder(width)
    width: int = 64
    steps: int = 20000
    batch_size: int = 128
    learning_rate: float = 1e-3
    margin: float = 1.0


@dataclasses.dataclass
class Model:
    # baseline / metric / aux: Table 1's GAN ablation (aux is the paper's model);
    # aae: the adversarial-autoencoder baseline (Sec. 3.2.3).
    variant: Literal["baseline", "metric", "aux", "aae"] = "aux"
    width: int = 64  # d of Tables 3-4
    phase_shuffle_radius: int = 2
    power_iterations: int = 1
    # Table 3 puts a conditional batch norm in the generator's last block and Table 4 one in
    # every discriminator block; both train worse (README, "Learning curves"), so they are off
    # unless asked for. WaveGAN's code has no batch norm at its output; SN-GAN critics have none.
    generator_output_batch_norm: bool = False
    discriminator_batch_norm: bool = False
    reconstruction_weight: float = 10.0  # aae: weight of the mean absolute waveform error


@dataclasses.dataclass
class Train:
    batch_size: int = 128  # global batch, divided over replicas
    steps: int = 100000  # generator updates
    critic_steps: int = 5  # discriminator updates per generator update
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    lr_decay_rate: float = 0.9
    lr_decay_epochs: float = 100.0  # lr · rate^(epoch / lr_decay_epochs); epoch = a pass over the target set
    metric_weight: float = 10.0  # λ of Eq. 5
    checkpoint_every: int = 1000  # steps; also the TensorBoard epoch
    keep_checkpoints: int = 3
    histograms: bool = True
    jit_compile: bool = False  # XLA; ~30x slower for Conv1DTranspose on CPU
    strategy: str = "auto"
    shuffle_buffer: int = 10000
    cache: bool = False  # cache decoded target clips in memory (mini datasets)


@dataclasses.dataclass
class Stats:
    max_examples: int = 5000  # clips / faces used for λ1, λ2, (μ, σ)


@dataclasses.dataclass
class Evaluation:
    """The learning curve during training, and the FID/IS classifiers it and `python -m tfxmodal.evaluate` share."""

    every_steps: int = 0  # score the generator every N steps (0: off): curve.json, curve.png, TensorBoard eval/*
    examples: int = 512  # faces translated (and real notes compared) at each point of the curve
    spectrograms: int = 6  # real-note / translation spectrogram pairs logged at each point
    classifier_steps: int = 1000  # training steps of each FID/IS classifier (pitch, family), trained once
    classifier_width: Optional[int] = None  # their width d; None: psi's width
    classifiers_dir: Optional[str] = None  # None: <run dir>/../classifiers (shared by an ablation's runs)


@dataclasses.dataclass
class Export:
    dir: Optional[str] = "saved_models/face2music"  # versions go under it; None: <out>/saved_model
    default_pitch: int = 60
    sample_faces: int = 16  # fixed faces translated to WAV and logged to TensorBoard


@dataclasses.dataclass
class Face2MusicConfig:
    task: Literal["face2music"]
    seed: int = 0
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
        positive = {
            "model.width": self.model.width,
            "train.batch_size": self.train.batch_size,
            "train.steps": self.train.steps,
            "train.critic_steps": self.train.critic_steps,
            "train.checkpoint_every": self.train.checkpoint_every,
            "train.keep_checkpoints": self.train.keep_checkpoints,
            "audio_embedder.width": self.audio_embedder.width,
            "audio_embedder.batch_size": self.audio_embedder.batch_size,
            "face_embedder.num_components": self.face_embedder.num_components,
            "face_embedder.image_size": self.face_embedder.image_size,
            "stats.max_examples": self.stats.max_examples,
            "export.sample_faces": self.export.sample_faces,
            "evaluation.examples": self.evaluation.examples,
            "evaluation.classifier_steps": self.evaluation.classifier_steps,
        }
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"{key}: must be >= 1, got {value}")
        if self.evaluation.every_steps < 0:
            raise ConfigError(
                f"evaluation.every_steps: must be >= 0 (0: no learning curve), got {self.evaluation.every_steps}"
            )
        if self.evaluation.examples < 3:
            raise ConfigError(f"evaluation.examples: must be >= 3, got {self.evaluation.examples}")
        if self.evaluation.spectrograms < 0:
            raise ConfigError(f"evaluation.spectrograms: must be >= 0, got {self.evaluation.spectrograms}")
        if self.evaluation.classifier_width is not None and self.evaluation.classifier_width < 1:
            raise ConfigError(
                f"evaluation.classifier_width: must be >= 1 (or null), got {self.evaluation.classifier_width}"
            )
        if self.stats.max_examples < 2:
            raise ConfigError(f"stats.max_examples: must be >= 2, got {self.stats.max_examples}")
        if self.train.steps % self.train.checkpoint_every:
            raise ConfigError(
                f"train.steps: {self.train.steps} is not a multiple of train.checkpoint_every "
                f"({self.train.checkpoint_every})"
            )
        if self.train.learning_rate <= 0 or self.audio_embedder.learning_rate <= 0:
            raise ConfigError("train.learning_rate and audio_embedder.learning_rate must be > 0")
        if not 24 <= self.export.default_pitch <= 84:
            raise ConfigError(f"export.default_pitch: must be a MIDI pitch in 24..84, got {self.export.default_pitch}")
        if self.train.strategy not in STRATEGIES:
            raise ConfigError(f"train.strategy: expected one of {list(STRATEGIES)}, got {self.train.strategy!r}")
        if self.faces.augment_copies < 0:
            raise ConfigError(f"faces.augment_copies: must be >= 0, got {self.faces.augment_copies}")
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
        for index, path in enumerate(self.audio.soundfonts):
            if not os.path.isfile(path):
                raise ConfigError(f"audio.soundfonts[{index}]: {path} does not exist (expected a .sf2 file)")
