"""The CAR-GAN run config (`task: car_gan`): schema, defaults, checks.

Defaults are the paper's (Duan et al. 2020, Sec. III-E, IV-A): 256×256
images, batch 64, Adam lr 8e-4 with β = (0.9, 0.999), N(0, 0.02) init,
λ_L1 = 100, λ_G1 = λ_G2 = λ_c = λ_cG = 1, λ_I′ = λ_I″ = 0.5, 200 epochs.
`configs/` holds the paper-scale and the demo configs; the ablations of
Table I are overrides of `model.*` and `loss.classification`
(`tfxmodal.car_gan.task.ABLATIONS`).
"""

import dataclasses
import os
from typing import Literal

from tfxmodal.config import bounded
from tfxmodal.domain import SAMPLE_RATE
from tfxmodal.errors import ConfigError
from tfxmodal.layers.diff_augment import parse_policy
from tfxmodal.trainers.car_gan import LossWeights
from tfxmodal.trainers.distribute import STRATEGIES


@dataclasses.dataclass
class Data:
    """Paired (audio chunk, image, instrument) examples."""

    source: Literal["mini_urmp", "sub_urmp"] = "mini_urmp"
    root: str | None = None  # sub_urmp: the folder holding img/ and chunk/ (lms: image: image_dir/ and lms_dir/)
    # sub_urmp: the LMS input A: "audio" computes it from the chunk/ WAVs (1 channel); "image" reads the authors'
    # colour-mapped spectrogram pictures <lms_dir>/<split>/<instrument>/<stem>.png|.jpg (3 channels, no WAVs needed)
    lms: Literal["audio", "image"] = "audio"
    image_dir: str = "img"  # sub_urmp: the frames' folder under root (the authors' resized copy: img_256)
    lms_dir: str = "spectram"  # sub_urmp, lms: image: the spectrogram pictures' folder under root (the authors')
    data_dir: str | None = None  # mini_urmp: TFDS data dir (None: TFDS default)
    mini_urmp_config: Literal["default", "tiny"] = "default"
    image_size: int = bounded(256, at_least=32)  # S of images and LMS; a power of two >= 32 (U-Net depth log2 S)
    sample_rate: int = bounded(SAMPLE_RATE, at_least=1)  # sub_urmp: Hz chunks are used at; other rates are resampled
    skip_bad_files: bool = False  # sub_urmp: skip unreadable pairs instead of failing
    downmix: bool = True  # sub_urmp: average multi-channel chunks to mono (false: reject them)
    shuffle_buffer: int = bounded(4096, at_least=1)
    cache: bool | None = None  # None: cache converted examples when they fit in 1 GiB


@dataclasses.dataclass
class Classifier:
    """C: ResNet-50 + dense head, trained on real images first (stage 2 of a run), then frozen."""

    weights: str | None = None  # a .weights.h5 of ImageClassifier(13, data.image_size): skip training
    backbone_weights: str | None = None  # a Keras ResNet-50 notop .h5 (ImageNet) to fine-tune from
    cache_dir: str | None = None  # share the trained C between runs of the same data/classifier config
    train_splits: list[str] = dataclasses.field(default_factory=lambda: ["train"])  # paper: train + test
    epochs: int = bounded(30, at_least=1)
    batch_size: int = bounded(64, at_least=1)
    learning_rate: float = bounded(1e-3, above=0)  # Adam
    cosine_decay: bool = True  # decay the learning rate to 0 over the epochs (cosine)
    label_smoothing: float = bounded(0.0, at_least=0, below=1)


@dataclasses.dataclass
class Model:
    attention: bool = True  # ablation A: false
    residue: bool = True  # ablation C: false (G2 gets L_a instead of L_r)
    second_stage: bool = True  # ablation D: false (no G2)
    generator_filters: int = bounded(64, at_least=1)  # ngf
    discriminator_filters: int = bounded(64, at_least=1)  # ndf
    discriminator_layers: int = bounded(3, at_least=1)  # PatchGAN stride-2 convolutions (70x70 patches)
    dropout: float = bounded(0.5, at_least=0, below=1)  # pix2pix dropout in the 8ngf decoder levels
    key_channels_divisor: int = bounded(4, at_least=1)  # self-attention query/key channels = C / this (authors: 4)
    downsample_keys: bool = True  # self-attention 2x2 max-pooled keys/values (authors' code)
    init_stddev: float = bounded(0.02, above=0)  # N(0, sigma) init (pix2pix, the issue; the paper says 0.2 once)
    # The authors' released code, not the paper (docs/papers/car_gan.md, "The paper, the authors' code"):
    stage2_sees_lms: bool = False  # G2 also gets A: G2([I', A, L_r])
    discriminator_labels: bool = False  # D also sees tiled labels (L_r in D's step, L_a in G's)
    discriminator_tanh: bool = False  # tanh on D's logits (bounded output)
    # Not the paper (docs/car_gan_conditioning.md): a projection discriminator (Miyato & Koyama 2018, "cGANs
    # with Projection Discriminator"): each patch logit + <V L_a, pooled trunk features>; false (the paper): D sees (A, I)
    discriminator_projection: bool = False

    def trunk_arguments(self):
        """The `PatchGANDiscriminator` arguments that shape its trunk (the run's D and the critic-trunk probe)."""
        return {
            "base_filters": self.discriminator_filters,
            "num_layers": self.discriminator_layers,
            "attention": self.attention,
            "key_channels_divisor": self.key_channels_divisor,
            "downsample_keys": self.downsample_keys,
            "init_stddev": self.init_stddev,
        }


@dataclasses.dataclass
class Train:
    batch_size: int = bounded(64, at_least=1)  # global batch, divided over replicas
    epochs: float = bounded(200.0, above=0)  # passes over the train split (used when steps is null)
    steps: int | None = bounded(None, at_least=1)  # generator updates; overrides epochs
    checkpoint_every: int | None = bounded(
        None, at_least=1
    )  # steps; null: once per data epoch. Also the TensorBoard epoch
    decay_epochs: float = bounded(0.0, at_least=0)  # then this many epochs, rate decayed linearly (authors: 100)
    discriminator_first: bool = False  # update D before G in each step (authors' code; the paper: G first)
    # Not the paper (docs/car_gan_conditioning.md): DiffAugment (Zhao et al. 2020, "Differentiable Augmentation
    # for Data-Efficient GAN Training") of every (LMS, image) pair D sees, real and fake, in D's and G's steps:
    # a comma-separated subset of "color,translation,cutout"; "" (the paper): off
    diff_augment: str = ""
    # Not the paper (docs/car_gan_conditioning.md): L_c (Eq. 2) scores C on a fresh augmentation of I' and I''
    # (same policy names), so that C's verdict must survive shifts and cut-outs (transformation robustness,
    # Olah et al. 2017, "Feature Visualization"); "" (the paper): C scores the images themselves
    classifier_augment: str = ""
    learning_rate: float = bounded(8e-4, above=0)
    beta_1: float = bounded(0.9, at_least=0, below=1)
    beta_2: float = bounded(0.999, at_least=0, below=1)
    keep_checkpoints: int = bounded(3, at_least=1)
    histograms: bool = False  # weight histograms in TensorBoard at every checkpoint
    jit_compile: bool = False  # XLA
    strategy: str = "auto"  # auto, default, one_device, mirrored, multi_worker (docs/distributed.md)
    # The networks' Keras dtype policy (tfxmodal/utils/precision.py); float32 where the maths needs it
    precision: Literal["float32", "mixed_bfloat16", "mixed_float16"] = "float32"


@dataclasses.dataclass
class Export:
    dir: str | None = "saved_models/car_gan"  # versions go under it; None: <out>/saved_model
    sample_count: int = bounded(
        13, at_least=1
    )  # fixed test examples (one per instrument first) in the grid and TensorBoard


@dataclasses.dataclass
class Evaluation:
    max_examples: int | None = bounded(None, at_least=1)  # python -m tfxmodal.evaluate: examples per split; None: all
    every_steps: int = bounded(0, at_least=0)  # learning curve: score the generators every N steps (0: off)
    curve_examples: int = bounded(256, at_least=1)  # learning curve: test examples scored at each point
    # python -m tfxmodal.evaluate: Keras's inception_v3 ImageNet weights (.h5) for Table I's FID and IS; None: unavailable
    inception_weights: str | None = None
    independent_classifier: bool = True  # python -m tfxmodal.evaluate: also score with a classifier G never saw


@dataclasses.dataclass
class CARGANConfig:
    task: Literal["car_gan"]
    seed: int = bounded(0, at_least=0)
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
        if self.train.strategy not in STRATEGIES:
            raise ConfigError(f"train.strategy: expected one of {list(STRATEGIES)}, got {self.train.strategy!r}")
        for key in ("diff_augment", "classifier_augment"):
            try:
                parse_policy(getattr(self.train, key))
            except ValueError as error:
                raise ConfigError(f"train.{key}: {error}") from None
        if not self.classifier.train_splits:
            raise ConfigError("classifier.train_splits: list at least one of train, test")
        for index, split in enumerate(self.classifier.train_splits):
            if split not in ("train", "test"):
                raise ConfigError(f"classifier.train_splits[{index}]: expected train or test, got {split!r}")
        self._check_paths()

    def _check_paths(self):
        if self.data.source == "sub_urmp" and not self.data.root:
            raise ConfigError("data.root: required for data.source 'sub_urmp' (the folder holding img/ and chunk/)")
        if self.data.lms == "image" and self.data.source != "sub_urmp":
            raise ConfigError(
                f"data.lms: 'image' reads spectrogram pictures of a Sub-URMP copy; data.source is "
                f"{self.data.source!r} (use sub_urmp, or lms: audio)"
            )
        # Checked here only for the pictures: a WAV copy's missing folders are reported by the loader, as before.
        if self.data.lms == "image" and self.data.root and os.path.isdir(self.data.root):
            for key, name in {"data.image_dir": self.data.image_dir, "data.lms_dir": self.data.lms_dir}.items():
                path = os.path.join(self.data.root, name)
                if not os.path.isdir(path):
                    raise ConfigError(
                        f"{key}: {path} is not a directory (expected {name}/{{train,test}}/<instrument>/)"
                    )
        for key, path in {
            "data.root": self.data.root if self.data.source == "sub_urmp" else None,
            "classifier.weights": self.classifier.weights,
            "classifier.backbone_weights": self.classifier.backbone_weights,
        }.items():
            if path and not os.path.exists(path):
                raise ConfigError(f"{key}: {path} does not exist")
        if self.export.dir and os.path.isfile(self.export.dir):
            raise ConfigError(
                f"export.dir: {self.export.dir} is a file; expected a directory for the SavedModel versions"
            )
        if self.classifier.weights and not self.classifier.weights.endswith(".weights.h5"):
            raise ConfigError(f"classifier.weights: {self.classifier.weights} is not a Keras .weights.h5 file")
