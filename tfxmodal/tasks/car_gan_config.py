"""The CAR-GAN run config (`task: car_gan`): schema, defaults, checks.

Defaults are the paper's (Duan et al. 2020, Sec. III-E, IV-A): 256×256
images, batch 64, Adam lr 8e-4 with β = (0.9, 0.999), N(0, 0.02) init,
λ_L1 = 100, λ_G1 = λ_G2 = λ_c = λ_cG = 1, λ_I′ = λ_I″ = 0.5, 200 epochs.
`configs/` holds the paper-scale and the demo configs; the ablations of
Table I are overrides of `model.*` and `loss.classification`
(`tfxmodal.tasks.car_gan.ABLATIONS`).
"""

import dataclasses
import os
from typing import Literal, Optional

from tfxmodal.config import ConfigError
from tfxmodal.trainers.car_gan import LossWeights
from tfxmodal.trainers.distribute import STRATEGIES


@dataclasses.dataclass
class Data:
    """Paired (audio chunk, image, instrument) examples."""

    source: Literal["mini_urmp", "sub_urmp"] = "mini_urmp"
    root: Optional[str] = None  # sub_urmp: the folder holding img/ and chunk/
    data_dir: Optional[str] = None  # mini_urmp: TFDS data dir (None: TFDS default)
    mini_urmp_config: Literal["default", "tiny"] = "default"
    image_size: int = 256  # S of images and LMS; a power of two >= 32 (U-Net depth log2 S)
    sample_rate: int = 16000  # sub_urmp: expected WAV rate (never resampled)
    skip_bad_files: bool = False  # sub_urmp: skip unreadable pairs instead of failing
    downmix: bool = False  # sub_urmp: average stereo WAVs
    shuffle_buffer: int = 4096
    cache: Optional[bool] = None  # None: cache converted examples when they fit in 1 GiB


@dataclasses.dataclass
class Classifier:
    """C: ResNet-50 + dense head, trained on real images first (stage 2 of a run), then frozen."""

    weights: Optional[str] = None  # a .weights.h5 of ImageClassifier(13, data.image_size): skip training
    backbone_weights: Optional[str] = None  # a Keras ResNet-50 notop .h5 (ImageNet) to fine-tune from
    cache_dir: Optional[str] = None  # share the trained C between runs of the same data/classifier config
    train_splits: list[str] = dataclasses.field(default_factory=lambda: ["train"])  # paper: train + test
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3  # Adam
    cosine_decay: bool = True  # decay the learning rate to 0 over the epochs (cosine)
    label_smoothing: float = 0.0


@dataclasses.dataclass
class Model:
    attention: bool = True  # ablation A: false
    residue: bool = True  # ablation C: false (G2 gets L_a instead of L_r)
    second_stage: bool = True  # ablation D: false (no G2)
    generator_filters: int = 64  # ngf
    discriminator_filters: int = 64  # ndf
    discriminator_layers: int = 3  # PatchGAN stride-2 convolutions (70x70 patches)
    dropout: float = 0.5  # pix2pix dropout in the 8ngf decoder levels
    key_channels_divisor: int = 4  # self-attention query/key channels = C / this (authors: 4)
    downsample_keys: bool = True  # self-attention 2x2 max-pooled keys/values (authors' code)
    init_stddev: float = 0.02  # N(0, sigma) init (pix2pix, the issue; the paper says 0.2 once)


@dataclasses.dataclass
class Train:
    batch_size: int = 64  # global batch, divided over replicas
    epochs: float = 200.0  # passes over the train split (used when steps is null)
    steps: Optional[int] = None  # generator updates; overrides epochs
    checkpoint_every: Optional[int] = None  # steps; null: once per data epoch. Also the TensorBoard epoch
    learning_rate: float = 8e-4
    beta_1: float = 0.9
    beta_2: float = 0.999
    keep_checkpoints: int = 3
    histograms: bool = False
    jit_compile: bool = False
    strategy: str = "auto"


@dataclasses.dataclass
class Export:
    dir: Optional[str] = "saved_models/car_gan"  # versions go under it; None: <out>/saved_model
    sample_count: int = 13  # fixed test examples (one per instrument first) in the grid and TensorBoard


@dataclasses.dataclass
class Evaluation:
    max_examples: Optional[int] = None  # python -m tfxmodal.evaluate: examples per split; None: all
    every_steps: int = 0  # learning curve: score the generators every N steps (0: off)
    curve_examples: int = 256  # learning curve: test examples scored at each point


@dataclasses.dataclass
class CARGANConfig:
    task: Literal["car_gan"]
    seed: int = 0
    data: Data = dataclasses.field(default_factory=Data)
    classifier: Classifier = dataclasses.field(default_factory=Classifier)
    model: Model = dataclasses.field(default_factory=Model)
    loss: LossWeights = dataclasses.field(default_factory=LossWeights)
    train: Train = dataclasses.field(default_factory=Train)
    export: Export = dataclasses.field(default_factory=Export)
    evaluation: Evaluation = dataclasses.field(default_factory=Evaluation)

    def validate(self):
        size = self.data.image_size
        if size < 32 or size & (size - 1):
            raise ConfigError(f"data.image_size: must be a power of two >= 32 (U-Net depth, ResNet-50), got {size}")
        positive = {
            "data.sample_rate": self.data.sample_rate,
            "data.shuffle_buffer": self.data.shuffle_buffer,
            "classifier.epochs": self.classifier.epochs,
            "classifier.batch_size": self.classifier.batch_size,
            "model.generator_filters": self.model.generator_filters,
            "model.discriminator_filters": self.model.discriminator_filters,
            "model.discriminator_layers": self.model.discriminator_layers,
            "model.key_channels_divisor": self.model.key_channels_divisor,
            "train.batch_size": self.train.batch_size,
            "train.keep_checkpoints": self.train.keep_checkpoints,
            "export.sample_count": self.export.sample_count,
            "evaluation.curve_examples": self.evaluation.curve_examples,
        }
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"{key}: must be >= 1, got {value}")
        for key in ("train.steps", "train.checkpoint_every", "evaluation.max_examples"):
            section, name = key.split(".")
            value = getattr(getattr(self, section), name)
            if value is not None and value < 1:
                raise ConfigError(f"{key}: must be >= 1 (or null), got {value}")
        if self.evaluation.every_steps < 0:
            raise ConfigError(
                f"evaluation.every_steps: must be >= 0 (0: no learning curve), got {self.evaluation.every_steps}"
            )
        if self.train.steps is None and self.train.epochs <= 0:
            raise ConfigError(f"train.epochs: must be > 0, got {self.train.epochs}")
        if (
            self.train.steps is not None
            and self.train.checkpoint_every is not None
            and self.train.steps % self.train.checkpoint_every
        ):
            raise ConfigError(
                f"train.steps: {self.train.steps} is not a multiple of train.checkpoint_every "
                f"({self.train.checkpoint_every})"
            )
        # The PatchGAN's two stride-1 convolutions each shrink the map by 1.
        if size // 2**self.model.discriminator_layers < 3:
            raise ConfigError(
                f"model.discriminator_layers: {self.model.discriminator_layers} stride-2 layers leave no "
                f"patches of a {size}x{size} image"
            )
        for key, value in {
            "train.learning_rate": self.train.learning_rate,
            "classifier.learning_rate": self.classifier.learning_rate,
            "model.init_stddev": self.model.init_stddev,
        }.items():
            if value <= 0:
                raise ConfigError(f"{key}: must be > 0, got {value}")
        if not 0 <= self.model.dropout < 1:
            raise ConfigError(f"model.dropout: must be in [0, 1), got {self.model.dropout}")
        if not 0 <= self.classifier.label_smoothing < 1:
            raise ConfigError(f"classifier.label_smoothing: must be in [0, 1), got {self.classifier.label_smoothing}")
        for key, value in dataclasses.asdict(self.loss).items():
            if value < 0:
                raise ConfigError(f"loss.{key}: must be >= 0, got {value}")
        for key in ("beta_1", "beta_2"):
            if not 0 <= getattr(self.train, key) < 1:
                raise ConfigError(f"train.{key}: must be in [0, 1), got {getattr(self.train, key)}")
        if self.train.strategy not in STRATEGIES:
            raise ConfigError(f"train.strategy: expected one of {list(STRATEGIES)}, got {self.train.strategy!r}")
        if not self.classifier.train_splits:
            raise ConfigError("classifier.train_splits: list at least one of train, test")
        for index, split in enumerate(self.classifier.train_splits):
            if split not in ("train", "test"):
                raise ConfigError(f"classifier.train_splits[{index}]: expected train or test, got {split!r}")
        self._check_paths()

    def _check_paths(self):
        if self.data.source == "sub_urmp" and not self.data.root:
            raise ConfigError("data.root: required for data.source 'sub_urmp' (the folder holding img/ and chunk/)")
        for key, path in {
            "data.root": self.data.root if self.data.source == "sub_urmp" else None,
            "classifier.weights": self.classifier.weights,
            "classifier.backbone_weights": self.classifier.backbone_weights,
        }.items():
            if path and not os.path.exists(path):
                raise ConfigError(f"{key}: {path} does not exist")
        if self.classifier.weights and not self.classifier.weights.endswith(".weights.h5"):
            raise ConfigError(f"classifier.weights: {self.classifier.weights} is not a Keras .weights.h5 file")
