"""Face-to-music generator and discriminator (Kim et al. 2020, Tables 3-4).

Both follow WaveGAN (Donahue et al. 2019) with 1-D kernels of length 25:
the generator upsamples a 512-d face embedding to 8192 samples through
transposed convolutions with pitch-conditional batch norm; the discriminator
downsamples with spectrally normalized strided convolutions, phase shuffle
and a projection head on pitch.
"""

import math

import keras
from keras import ops

from tfxmodal.domain import FACE_EMBEDDING_DIM, LOWEST_PITCH, NUM_PITCHES, SAMPLE_RATE
from tfxmodal.layers import (
    ConditionalBatchNorm,
    MatmulConv1DTranspose,
    PhaseShuffle,
    ProjectionHead,
    SpectralNormalization,
)

KERNEL_SIZE = 25
# Strides of the five 1-D blocks: 16 x 4 x 4 x 4 x 4 x 2 = 8192 samples.
STRIDES = (4, 4, 4, 4, 2)
INITIAL_STEPS = 16
NUM_SAMPLES = INITIAL_STEPS * 4 * 4 * 4 * 4 * 2
LEAKY_SLOPE = 0.2
# The generator's `transposed_conv` choices: the same operator and variables, computed three ways.
# "matmul" and "polyphase" are MatmulConv1DTranspose with polyphase_from_length never / from 1 position.
TRANSPOSED_CONVS = ("auto", "matmul", "polyphase", "keras")
# The generator's `upsample` choices: WaveGAN's `--wavegan_genr_upsample` (`zeros`: transposed
# convolution, the paper's; `nn`: nearest-neighbour upsampling, then a stride-1 convolution).
UPSAMPLES = ("transposed", "nearest")
# transposed_conv="auto" takes MatmulConv1DTranspose from this width d on (the product for inputs
# shorter than its polyphase_from_length, 1,024 positions, the polyphase convolution from there).
MATMUL_FROM_WIDTH = 32


def upsampling_input_rates(sample_rate):
    """Sample rate in Hz of each of the generator's five upsampling layers' inputs, output at `sample_rate`."""
    rates, length = [], INITIAL_STEPS
    for stride in STRIDES:
        rates.append(sample_rate * length / NUM_SAMPLES)
        length *= stride
    return rates


def pitch_excitation(pitch, positions, sample_rate=SAMPLE_RATE, dtype="float32"):
    """A unit sine at each pitch class's f0, `positions` samples at the rate those span of a 0.512 s clip.

    Args:
        pitch: int `(batch,)` pitch classes (MIDI pitch − `LOWEST_PITCH`).
        positions: samples of the excitation (it covers the clip's
            `NUM_SAMPLES / sample_rate` seconds, so its rate is
            `sample_rate · positions / NUM_SAMPLES`).

    Returns:
        `(batch, positions, 1)`: `sin(2π f0 n / rate)` with f0 = 440 ·
        2^((MIDI − 69) / 12), phase 0 at the clip's first sample; 0 where
        f0 is at or above the rate's Nyquist frequency.
    """
    rate = sample_rate * positions / NUM_SAMPLES
    midi = ops.cast(ops.reshape(pitch, (-1, 1)), "float32") + float(LOWEST_PITCH)
    f0 = 440.0 * ops.power(2.0, (midi - 69.0) / 12.0)  # (batch, 1) Hz
    n = ops.cast(ops.arange(positions), "float32")[None, :]
    sine = ops.sin(2.0 * math.pi * f0 * n / rate) * ops.cast(f0 < rate / 2.0, "float32")
    return ops.cast(sine[..., None], dtype)


def transposed_conv_layer(implementation, width, filters, **kwargs):
    """The generator's transposed convolution `filters` × `KERNEL_SIZE` computed by `implementation`."""
    if implementation == "auto":
        implementation = "mixed" if int(width) >= MATMUL_FROM_WIDTH else "keras"
    if implementation == "keras":
        return keras.layers.Conv1DTranspose(filters, KERNEL_SIZE, **kwargs)
    polyphase_from = {"matmul": None, "polyphase": 1}.get(implementation, 1024)
    return MatmulConv1DTranspose(filters, KERNEL_SIZE, polyphase_from_length=polyphase_from, **kwargs)


@keras.saving.register_keras_serializable(package="tfxmodal")
class WaveGANGenerator(keras.Model):
    """Embedding + pitch class → waveform of 8192 samples (Table 3).

    `Dense(16·32d) → reshape (16, 32d) → CBN → LReLU`, then five
    `Conv1DTranspose(k=25) → CBN → LReLU` blocks with strides 4, 4, 4, 4, 2
    and channels 16d, 8d, 4d, 2d, 1; the last block ends in tanh instead of
    LReLU. Every batch norm is conditioned on the pitch class. The paper's
    width is `d = 64` (86 M parameters).

    `output_batch_norm=False` drops the batch norm of the last block, as
    WaveGAN's code does (its output layer is transposed convolution → tanh)
    and as DCGAN advises ("not applying batchnorm to the generator output
    layer"): Table 3 lists CBN in every block, but a batch-normalized
    output fixes the level of every batch to γ (1 at the start, far above a
    note's), which the generator then has to unlearn.

    `spectral_norm=True` divides the dense and every transposed
    convolution's kernel by its largest singular value (Sec. 3.2.1: "all the
    weight matrices in the deconvolutional and fully connected layers of
    WaveGAN model are normalized by their estimated first singular value").

    `transposed_conv` picks how the transposed convolutions are computed,
    not what: `"matmul"` (`layers.MatmulConv1DTranspose`, one matrix
    product and an overlap-add; 1.5–2.5× faster on CPU at d = 64, see the
    layer timings in docs/benchmarks.md), `"polyphase"` (the same layer as one stride-1
    convolution per layer, which holds no `k/s`-times-larger intermediate),
    `"keras"` (`keras.layers.Conv1DTranspose`, faster at d = 8) or
    `"auto"`: from d = `MATMUL_FROM_WIDTH` the product for inputs shorter
    than 1,024 positions and the polyphase convolution for the last two
    layers (at d = 64, batch 128: 81 s per training iteration and a 7.0 GB
    peak, against 77 s and 10.3 GB with the product everywhere and 91 s and
    6.5 GB with Keras's op); below it Keras's op. All have the same
    variables, so weights saved with one load into the others.

    `upsample="nearest"` replaces each transposed convolution by
    nearest-neighbour upsampling (each sample repeated `stride` times) and
    a stride-1 convolution of the same kernel length, WaveGAN's `nn`
    option (Donahue et al. 2019, Sec. 3.3 and its code's
    `--wavegan_genr_upsample nn`; Odena et al. 2016, "Deconvolution and
    checkerboard artifacts"). A transposed convolution of stride s
    zero-stuffs its input and so leaves images of the input's spectrum
    at multiples of the input's rate (for the last two blocks 2 and 8 kHz
    at 16 kHz), a comb a critic can key on; repetition attenuates them.
    It costs s× the multiply-adds of the transposed convolution.

    `pitch_input=True` also concatenates the one-hot pitch class to the
    embedding before the dense layer, as GANSynth conditions its generator
    ("a one-hot representation of musical pitch" appended to the latent
    vector, Engel et al. 2019, Sec. 3.1), so the first feature map already
    depends on the pitch; the conditional batch norms stay.

    `excitation=True` gives the last upsampling layer one more input
    channel: a unit sine at the requested pitch's f0 (`pitch_excitation`,
    at that layer's input rate, 8 kHz), which the layer filters into the
    output beside the learnt features — the source-filter design of neural
    waveform models (the sine excitation of Wang, Takaki, Yamagishi 2019,
    "Neural source-filter waveform models"; DDSP's harmonic oscillator,
    Engel et al. 2020). The pitch's f0 is then a signal the generator can
    pass on instead of a frequency its 2d-channel last layers must
    synthesise from a per-pitch scale and shift, which at d = 8 they do
    for low pitches long before high ones (docs/learning_the_conditioning.md).

    Args:
        width: `d`, the channel multiplier.
        num_pitches: pitch classes (61 for MIDI pitches 24–84).
        latent_dim: size of the input embedding (512).
        output_batch_norm: conditional batch norm in the last block (Table 3).
        spectral_norm: spectrally normalized weights (Sec. 3.2.1).
        power_iterations: spectral-norm power iterations per training call.
        transposed_conv: `"auto"`, `"matmul"`, `"polyphase"` or `"keras"`.
        upsample: `"transposed"` (Table 3) or `"nearest"`.
        pitch_input: one-hot pitch concatenated to the embedding.
        excitation: a sine at the pitch's f0 as an extra input channel of
            the last upsampling layer.

    Call arguments:
        embedding: float `(batch, latent_dim)`.
        pitch: int `(batch,)` pitch class indices in `[0, num_pitches)`.
        training: bool, batch statistics in the conditional batch norms.

    `dtype` (a Keras dtype policy, e.g. `"mixed_bfloat16"`) reaches every
    layer; spectral norm's σ and the batch-norm statistics stay float32
    and so does the output.

    Returns:
        float32 `(batch, 8192, 1)` waveform in (−1, 1) at 16 kHz.
    """

    def __init__(
        self,
        width=64,
        num_pitches=NUM_PITCHES,
        latent_dim=FACE_EMBEDDING_DIM,
        output_batch_norm=True,
        spectral_norm=False,
        power_iterations=1,
        transposed_conv="auto",
        upsample="transposed",
        pitch_input=False,
        excitation=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.excitation = bool(excitation)
        if upsample not in UPSAMPLES:
            raise ValueError(f"WaveGANGenerator: upsample must be one of {list(UPSAMPLES)}, got {upsample!r}")
        self.upsample = upsample
        self.pitch_input = bool(pitch_input)
        if transposed_conv not in TRANSPOSED_CONVS:
            raise ValueError(
                f"WaveGANGenerator: transposed_conv must be one of {list(TRANSPOSED_CONVS)}, got {transposed_conv!r}"
            )
        self.transposed_conv = transposed_conv
        self.width = int(width)
        self.num_pitches = int(num_pitches)
        self.latent_dim = int(latent_dim)
        self.output_batch_norm = bool(output_batch_norm)
        self.spectral_norm = bool(spectral_norm)
        self.power_iterations = int(power_iterations)
        if self.width < 1:
            raise ValueError(f"WaveGANGenerator: width must be >= 1, got {width!r}")
        channels = [32 * self.width, 16 * self.width, 8 * self.width, 4 * self.width, 2 * self.width, 1]

        def normalized(layer):
            if not self.spectral_norm:
                return layer
            return SpectralNormalization(
                layer, power_iterations=self.power_iterations, dtype=policy, name=f"sn_{layer.name}"
            )

        # Every layer computes in the generator's dtype policy (`dtype=`; train.precision).
        policy = self.dtype_policy
        self.project = normalized(keras.layers.Dense(INITIAL_STEPS * channels[0], dtype=policy, name="project"))
        self.reshape = keras.layers.Reshape((INITIAL_STEPS, channels[0]), dtype=policy)
        self.project_norm = ConditionalBatchNorm(self.num_pitches, dtype=policy, name="project_cbn")
        self.upconvs = [
            normalized(self._upsampling_conv(filters, stride, policy, f"upconv{index}"))
            for index, (filters, stride) in enumerate(zip(channels[1:], STRIDES), start=1)
        ]
        normalized = len(STRIDES) if self.output_batch_norm else len(STRIDES) - 1
        self.norms = [
            ConditionalBatchNorm(self.num_pitches, dtype=policy, name=f"upconv{index}_cbn")
            for index in range(1, normalized + 1)
        ]

    def _upsampling_conv(self, filters, stride, policy, name):
        if self.upsample == "nearest":
            # Repeating each sample `stride` times then filtering has no zeros between samples, so no
            # spectral images of the input at multiples of its rate (WaveGAN's `nn` upsampling).
            return keras.layers.Conv1D(filters, KERNEL_SIZE, padding="same", dtype=policy, name=name)
        return transposed_conv_layer(
            self.transposed_conv, self.width, filters, strides=stride, padding="same", dtype=policy, name=name
        )

    def build(self, embedding_shape, pitch_shape=None):
        if embedding_shape[-1] != self.latent_dim:
            raise ValueError(
                f"WaveGANGenerator: embedding has {embedding_shape[-1]} features, expected latent_dim={self.latent_dim}"
            )
        batch = embedding_shape[0]
        projected_features = self.latent_dim + (self.num_pitches if self.pitch_input else 0)
        self.project.build((batch, projected_features))
        shape = (batch, INITIAL_STEPS, 32 * self.width)
        self.project_norm.build(shape)
        last = len(self.upconvs) - 1
        for index, (conv, stride) in enumerate(zip(self.upconvs, STRIDES)):
            if self.upsample == "nearest":
                shape = (shape[0], shape[1] * stride, shape[2])
            if index == last and self.excitation:
                shape = (shape[0], shape[1], shape[2] + 1)
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if index < len(self.norms):
                self.norms[index].build(shape)
        self.built = True

    def call(self, embedding, pitch, training=None):
        if self.pitch_input:
            one_hot = ops.one_hot(ops.reshape(pitch, (-1,)), self.num_pitches, dtype=embedding.dtype)
            embedding = ops.concatenate([embedding, one_hot], axis=-1)
        x = self.reshape(self.project(embedding, training=training))
        x = ops.leaky_relu(self.project_norm(x, pitch, training=training), LEAKY_SLOPE)
        last = len(self.upconvs) - 1
        for index, (conv, stride) in enumerate(zip(self.upconvs, STRIDES)):
            if self.upsample == "nearest":
                x = ops.repeat(x, stride, axis=1)
            if index == last and self.excitation:
                x = ops.concatenate([x, pitch_excitation(pitch, x.shape[1], dtype=x.dtype)], axis=-1)
            x = conv(x, training=training)
            if index < len(self.norms):
                x = self.norms[index](x, pitch, training=training)
            x = ops.tanh(x) if index == last else ops.leaky_relu(x, LEAKY_SLOPE)
        # float32 under a mixed-precision policy too: the losses, φ and the exports read it.
        return ops.cast(x, "float32")

    def compute_output_shape(self, embedding_shape, pitch_shape=None):
        return (embedding_shape[0], NUM_SAMPLES, 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "width": self.width,
                "num_pitches": self.num_pitches,
                "latent_dim": self.latent_dim,
                "output_batch_norm": self.output_batch_norm,
                "spectral_norm": self.spectral_norm,
                "power_iterations": self.power_iterations,
                "transposed_conv": self.transposed_conv,
                "upsample": self.upsample,
                "pitch_input": self.pitch_input,
                "excitation": self.excitation,
            }
        )
        return config


def down_block_channels(width):
    """Output channels of the five 1-D down blocks: d, 2d, 4d, 8d, 16d."""
    return [width, 2 * width, 4 * width, 8 * width, 16 * width]


@keras.saving.register_keras_serializable(package="tfxmodal")
class WaveGANDiscriminator(keras.Model):
    """Waveform + pitch class → unbounded critic score (Table 4).

    Five `Conv1D(k=25, strides 4, 4, 4, 4, 2) → BatchNorm → LReLU` blocks
    with channels d, 2d, 4d, 8d, 16d (8192 → 16 steps), phase shuffle after
    blocks 1–4 as in WaveGAN (none after the last), a sum over time, then
    `Dense(1)(h) + ⟨embed(pitch), h⟩` (projection). Every weight matrix is
    spectrally normalized.

    `batch_norm=False` drops the five batch norms. Table 4 lists them, but a
    batch norm divides by the batch's standard deviation and so undoes the
    Lipschitz bound spectral normalization puts on the critic (SN-GAN's
    critics have none): with them, critic scores reach ±40 and the generator
    does not learn even a single sine tone in 600 steps where without them
    it does (measured; docs/results.md, "Learning curves").

    `pitch_classifier=True` adds an auxiliary classifier (AC-GAN, Odena et
    al. 2017), a spectrally normalized `Dense(num_pitches)` on the same
    pooled features, read by `score_and_pitch_logits`: GANSynth (Engel et
    al. 2019, Sec. 3.1) adds one to its critic "to predict the pitch label"
    because a critic that only scores realness need not learn pitch.

    Args:
        width: `d`, the channel multiplier (paper: 64).
        num_pitches: pitch classes.
        phase_shuffle_radius: phase shuffle radius (WaveGAN: 2; 0 disables).
        power_iterations: spectral-norm power iterations per training call.
        seed: optional seed of the phase shuffles.
        batch_norm: batch norm after each convolution (Table 4).
        pitch_classifier: the auxiliary pitch classifier head.

    Call arguments:
        waveform: float `(batch, 8192, 1)`.
        pitch: int `(batch,)` pitch class indices.
        training: bool (batch norm, phase shuffle, spectral-norm updates).

    Returns:
        float32 `(batch, 1)`.
    """

    def __init__(
        self,
        width=64,
        num_pitches=NUM_PITCHES,
        phase_shuffle_radius=2,
        power_iterations=1,
        seed=None,
        batch_norm=True,
        pitch_classifier=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.pitch_classifier = bool(pitch_classifier)
        self.width = int(width)
        self.num_pitches = int(num_pitches)
        self.phase_shuffle_radius = int(phase_shuffle_radius)
        self.power_iterations = int(power_iterations)
        self.seed = seed
        self.batch_norm = bool(batch_norm)
        channels = down_block_channels(self.width)
        self.convs = [
            SpectralNormalization(
                keras.layers.Conv1D(filters, KERNEL_SIZE, strides=stride, padding="same", name=f"conv{index}"),
                power_iterations=self.power_iterations,
                name=f"sn_conv{index}",
            )
            for index, (filters, stride) in enumerate(zip(channels, STRIDES), start=1)
        ]
        self.norms = (
            [keras.layers.BatchNormalization(name=f"conv{i}_bn") for i in range(1, 6)] if self.batch_norm else []
        )
        self.shuffles = [
            PhaseShuffle(
                self.phase_shuffle_radius,
                seed=None if seed is None else seed + index,
                name=f"phase_shuffle{index}",
            )
            for index in range(1, 5)
        ]
        self.head = ProjectionHead(
            self.num_pitches,
            spectral_norm=True,
            power_iterations=self.power_iterations,
            name="projection",
        )
        self.pitch_logits = (
            SpectralNormalization(
                keras.layers.Dense(self.num_pitches, name="pitch_logits"),
                power_iterations=self.power_iterations,
                name="sn_pitch_logits",
            )
            if self.pitch_classifier
            else None
        )

    def build(self, waveform_shape, pitch_shape=None):
        if tuple(waveform_shape[1:]) != (NUM_SAMPLES, 1):
            raise ValueError(
                f"WaveGANDiscriminator: expected waveforms of shape (batch, {NUM_SAMPLES}, 1), "
                f"got {tuple(waveform_shape)}"
            )
        shape = tuple(waveform_shape)
        for index, conv in enumerate(self.convs):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if self.norms:
                self.norms[index].build(shape)
            if index < len(self.shuffles):
                self.shuffles[index].build(shape)
        self.head.build((shape[0], shape[-1]))
        if self.pitch_logits is not None:
            self.pitch_logits.build((shape[0], shape[-1]))
        self.built = True

    def features(self, waveform, training=None):
        """Pooled features `(batch, 16d)`: the sum over time of the last block."""
        x = waveform
        for index, conv in enumerate(self.convs):
            x = conv(x, training=training)
            if self.norms:
                x = self.norms[index](x, training=training)
            x = ops.leaky_relu(x, LEAKY_SLOPE)
            if index < len(self.shuffles):
                x = self.shuffles[index](x, training=training)
        return ops.sum(x, axis=1)

    def call(self, waveform, pitch, training=None):
        return self.head(self.features(waveform, training=training), pitch, training=training)

    def score_and_pitch_logits(self, waveform, pitch, training=None):
        """`(score (batch, 1), pitch logits (batch, num_pitches))` from one pass of the trunk.

        Needs `pitch_classifier=True`.
        """
        if self.pitch_logits is None:
            raise ValueError("WaveGANDiscriminator.score_and_pitch_logits: built with pitch_classifier=False")
        features = self.features(waveform, training=training)
        return self.head(features, pitch, training=training), self.pitch_logits(features, training=training)

    def compute_output_shape(self, waveform_shape, pitch_shape=None):
        return (waveform_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "width": self.width,
                "num_pitches": self.num_pitches,
                "phase_shuffle_radius": self.phase_shuffle_radius,
                "power_iterations": self.power_iterations,
                "seed": self.seed,
                "batch_norm": self.batch_norm,
                "pitch_classifier": self.pitch_classifier,
            }
        )
        return config
