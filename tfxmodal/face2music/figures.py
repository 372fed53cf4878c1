"""Figures 2 and 3 of Kim, Port & Patel 2020 as PNG files.

- `tsne_audio_space`: Fig. 2(b), t-SNE of the audio metric space φ (Eq. 6:
  the 128-d audio embedding concatenated with the 377-d flattened MFCCs,
  505-d) with the real notes colour-coded by instrument family and the
  translations as red dots.
- `tsne_face_space`: Fig. 2(a), t-SNE of the face embeddings colour-coded by
  the family each face's translation was assigned (Sec. 3.1.4).
- `face_grid`: Fig. 3, one row of faces per assigned family, padded with
  black where a family has fewer faces than the row holds.
- `spectrogram_pairs`: real notes beside translations at the same pitch
  (the learning curve's images and the report).

Family labels are integers. By default (`family_names=None`) they are NSynth
family indices (`tfxmodal.data.nsynth.families.FAMILIES`: bass 0 … string 8,
vocal 10) restricted to the paper's ten families: index 9, synth_lead, is
rejected, because in this project it only shows up when labels that index
`PAPER_FAMILIES` (where 9 is vocal) are passed as NSynth indices. Labels in
another convention are accepted by passing the name table they index, e.g.
`family_names=nsynth_families.PAPER_FAMILIES`. A family keeps its colour
under either convention: colours are keyed by family name.

Rendering goes through `tfxmodal.evaluation.plots` (matplotlib's Agg
canvas, no pyplot; every PNG written atomically), which also draws the
learning curve both papers share.
"""

import warnings

import numpy as np
from PIL import Image

from tfxmodal.data.nsynth import families as nsynth_families
from tfxmodal.evaluation.plots import figure_pixels, new_figure, save_png

TRANSLATION_COLOR = "#ff0000"

# One colour per NSynth family, none of them red (red is the translations'
# colour in Fig. 2(b)). Following the paper's text, flute is light blue and
# mallet green.
FAMILY_COLORS = {
    "bass": "#1f77b4",
    "brass": "#ff7f0e",
    "flute": "#6ec6f0",
    "guitar": "#8c564b",
    "keyboard": "#9467bd",
    "mallet": "#2ca02c",
    "organ": "#e377c2",
    "reed": "#bcbd22",
    "string": "#7f7f7f",
    "synth_lead": "#17becf",
    "vocal": "#1b1f5e",
}
_FALLBACK_COLORS = ("#393b79", "#637939", "#8c6d31", "#7b4173", "#3182bd", "#31a354")

MIN_TSNE_POINTS = 3  # fewer points have no neighbourhood structure to show


def family_table(family_names=None):
    """The `(label, name)` pairs that integer family labels may take.

    Args:
        family_names: None for NSynth indices of the paper's ten families
            (synth_lead, index 9, excluded); else a sequence of names that the
            labels index (label i means `family_names[i]`).

    Returns:
        list of `(int label, str name)` in label order.
    """
    if family_names is None:
        return [(nsynth_families.family_index(name), name) for name in nsynth_families.PAPER_FAMILIES]
    names = [str(name) for name in family_names]
    if not names:
        raise ValueError("family_names is empty")
    if len(set(names)) != len(names):
        raise ValueError(f"family_names has repeated names: {names}")
    return list(enumerate(names))


def family_color(name, position=0):
    """Matplotlib colour of a family name; `position` picks a fallback colour for unknown names."""
    return FAMILY_COLORS.get(name, _FALLBACK_COLORS[position % len(_FALLBACK_COLORS)])


def check_family_labels(labels, count, family_names=None, what="family labels"):
    """Validates integer family labels against `family_table(family_names)`.

    Args:
        labels: `(count,)` integers (a float array is accepted if every value
            is a whole number).
        count: the number of labels expected.
        family_names: see `family_table`.
        what: how to call the labels in error messages.

    Returns:
        `(count,)` int64 array.

    Raises:
        ValueError: wrong shape, non-integer values, or a label outside the
            table (the message lists the allowed labels).
    """
    raw = np.asarray(labels)
    if raw.ndim != 1 or raw.shape[0] != count:
        raise ValueError(f"{what}: expected shape ({count},), got {raw.shape}")
    whole_floats = np.issubdtype(raw.dtype, np.floating) and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw))
    if raw.size and not np.issubdtype(raw.dtype, np.integer) and not whole_floats:
        raise ValueError(f"{what}: expected integer family labels, got dtype {raw.dtype}")
    values = raw.astype(np.int64)
    table = family_table(family_names)
    allowed = {label for label, _ in table}
    bad = sorted({int(v) for v in values} - allowed)
    if bad:
        hint = ""
        if family_names is None and 9 in bad:
            hint = (
                "; 9 is NSynth's synth_lead, which the paper does not use: labels indexing "
                "nsynth_families.PAPER_FAMILIES (where 9 is vocal) need "
                "family_names=nsynth_families.PAPER_FAMILIES"
            )
        raise ValueError(
            f"{what}: labels {bad} are not families here; allowed: "
            + ", ".join(f"{label}={name}" for label, name in table)
            + hint
        )
    return values


def _points(array, what, allow_empty=False):
    """`(n, d)` finite float64 array, or ValueError naming `what`."""
    points = np.asarray(array, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(f"{what}: expected a (points, features) array, got shape {points.shape}")
    if points.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{what}: no points")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{what}: contains NaN or infinity")
    return points


def _subsample(count, max_points, rng):
    """Sorted indices of at most `max_points` of `count` items, drawn without replacement."""
    if max_points is None or count <= max_points:
        return np.arange(count)
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    return np.sort(rng.choice(count, size=int(max_points), replace=False))


def effective_perplexity(perplexity, count):
    """The perplexity actually used for `count` points.

    scikit-learn requires perplexity < n; we go further and cap it at
    (n - 1) / 3 because the Barnes-Hut t-SNE looks at 3 * perplexity
    neighbours, so a larger value would ask for more neighbours than exist.
    """
    if perplexity <= 0:
        raise ValueError(f"perplexity must be > 0, got {perplexity}")
    return float(min(perplexity, (count - 1) / 3.0))


def tsne_embed(points, seed=0, perplexity=30.0, n_threads=1):
    """2-d t-SNE of `(n, d)` points (n >= 3), Euclidean distances as given.

    Args:
        points: `(n, d)` float array. Not standardised: the paper's metric
            spaces are the raw features, and t-SNE should show their distances.
        seed: random state of the PCA initialisation and optimisation.
        perplexity: capped by `effective_perplexity` for small n.
        n_threads: OpenMP/BLAS threads. Default 1: on a shared 2-core
            machine the Barnes-Hut gradient's OpenMP threads spin-wait for
            each other, and 500 points took 10-17 s with 2 threads against
            2 s with 1; raise it on a dedicated machine.

    Returns:
        `(n, 2)` float64 coordinates.
    """
    from sklearn.manifold import TSNE  # noqa: PLC0415 — scikit-learn's manifold module (a slow import) only for t-SNE
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 — only around t-SNE, with scikit-learn

    points = _points(points, "t-SNE input")
    count = points.shape[0]
    if count < MIN_TSNE_POINTS:
        raise ValueError(f"t-SNE needs at least {MIN_TSNE_POINTS} points, got {count}")
    tsne = TSNE(
        n_components=2,
        perplexity=effective_perplexity(perplexity, count),
        init="pca",
        learning_rate="auto",
        random_state=int(seed),
    )
    with threadpool_limits(limits=n_threads):
        return tsne.fit_transform(points).astype(np.float64)


def _marker_size(count):
    """Scatter marker area (pt^2): small for thousands of points, visible for dozens."""
    return float(np.clip(6000.0 / max(count, 1), 3.0, 40.0))


def _scatter_by_family(axes, xy, labels, table, count_suffix=True):
    """One scatter per family present (table order), each with a legend entry."""
    size = _marker_size(len(xy))
    for position, (label, name) in enumerate(table):
        members = labels == label
        if not np.any(members):
            continue
        axes.scatter(
            xy[members, 0],
            xy[members, 1],
            s=size,
            c=family_color(name, position),
            alpha=0.7,
            linewidths=0,
            label=f"{name} ({int(members.sum())})" if count_suffix else name,
        )


def _finish_tsne_axes(figure, axes, title, perplexity):
    axes.set_title(title, fontsize=11)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.text(0.01, 0.01, f"t-SNE, perplexity {perplexity:g}", transform=axes.transAxes, fontsize=8, color="#555555")
    # The legend sits right of the axes; markerscale makes the tiny markers
    # of large plots readable in it.
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, markerscale=2.0, frameon=False)
    figure.subplots_adjust(left=0.03, right=0.76, top=0.93, bottom=0.03)


def tsne_audio_space(
    real_features,
    real_families,
    translated_features,
    path,
    seed=0,
    perplexity=30,
    max_points=5000,
    family_names=None,
    title=None,
    n_threads=1,
):
    """Fig. 2(b): t-SNE of φ with real notes by family and translations in red.

    Real and translated points are embedded by one joint t-SNE, so their
    positions are comparable (as in the paper: translations that fit the
    target set land among the real clusters).

    Args:
        real_features: `(n_real, d)` φ of real notes (d = 505 in the paper).
        real_families: `(n_real,)` integer family labels (see module doc).
        translated_features: `(n_translated, d)` φ of translations; may
            have 0 rows.
        path: PNG destination (900 x 700 px).
        seed: seeds the subsampling and the t-SNE.
        perplexity: t-SNE perplexity, capped at (n - 1) / 3 for small n.
        max_points: at most this many real and this many translated points
            are embedded (a seeded random subset of each; None for all).
            The paper plots 20k translations; t-SNE time grows faster than
            linearly, so the default keeps a plot under about a minute.
        family_names: name table of the labels (see module doc).
        title: plot title; a default names the counts.
        n_threads: see `tsne_embed`.

    Returns:
        `path` as str.

    Raises:
        ValueError: fewer than 3 points in all, mismatched feature sizes,
            non-finite values, or invalid family labels.
    """
    real = _points(real_features, "real_features", allow_empty=True)
    translated = _points(translated_features, "translated_features", allow_empty=True)
    if real.shape[1] != translated.shape[1]:
        raise ValueError(
            f"real_features have {real.shape[1]} features per point, translated_features {translated.shape[1]}"
        )
    labels = check_family_labels(real_families, real.shape[0], family_names, "real_families")
    rng = np.random.default_rng(seed)
    keep_real = _subsample(real.shape[0], max_points, rng)
    keep_translated = _subsample(translated.shape[0], max_points, rng)
    real, labels, translated = real[keep_real], labels[keep_real], translated[keep_translated]
    count = real.shape[0] + translated.shape[0]
    if count < MIN_TSNE_POINTS:
        raise ValueError(f"tsne_audio_space needs at least {MIN_TSNE_POINTS} points (real + translated), got {count}")
    xy = tsne_embed(np.concatenate([real, translated]), seed=seed, perplexity=perplexity, n_threads=n_threads)
    real_xy, translated_xy = xy[: real.shape[0]], xy[real.shape[0] :]

    figure = new_figure(900, 700)
    axes = figure.add_subplot(1, 1, 1)
    _scatter_by_family(axes, real_xy, labels, family_table(family_names))
    if len(translated_xy):
        # Drawn last so the red dots stay visible on top of the real blobs.
        axes.scatter(
            translated_xy[:, 0],
            translated_xy[:, 1],
            s=_marker_size(count),
            c=TRANSLATION_COLOR,
            alpha=0.8,
            linewidths=0,
            label=f"translations ({len(translated_xy)})",
            zorder=3,
        )
    _finish_tsne_axes(
        figure,
        axes,
        title or f"Audio metric space: {len(real_xy)} real notes, {len(translated_xy)} translations",
        effective_perplexity(perplexity, count),
    )
    return save_png(figure, path)


def tsne_face_space(
    face_embeddings,
    assigned_families,
    path,
    seed=0,
    perplexity=30,
    max_points=5000,
    family_names=None,
    title=None,
    n_threads=1,
):
    """Fig. 2(a): t-SNE of the face embeddings coloured by assigned family.

    Args:
        face_embeddings: `(n, d)` source-space embeddings of the faces.
        assigned_families: `(n,)` integer family label of each face's
            translation (nearest real family cluster in φ, Sec. 3.1.4).
        path: PNG destination (900 x 700 px).
        seed: seeds the subsampling and the t-SNE.
        perplexity: t-SNE perplexity, capped at (n - 1) / 3 for small n.
        max_points: at most this many faces are embedded (seeded random
            subset; None for all).
        family_names: name table of the labels (see module doc).
        title: plot title; a default names the count.
        n_threads: see `tsne_embed`.

    Returns:
        `path` as str.

    Raises:
        ValueError: fewer than 3 faces, non-finite values, or invalid labels.
    """
    faces = _points(face_embeddings, "face_embeddings", allow_empty=True)
    labels = check_family_labels(assigned_families, faces.shape[0], family_names, "assigned_families")
    if faces.shape[0] < MIN_TSNE_POINTS:
        raise ValueError(f"tsne_face_space needs at least {MIN_TSNE_POINTS} faces, got {faces.shape[0]}")
    keep = _subsample(faces.shape[0], max_points, np.random.default_rng(seed))
    faces, labels = faces[keep], labels[keep]
    xy = tsne_embed(faces, seed=seed, perplexity=perplexity, n_threads=n_threads)

    figure = new_figure(900, 700)
    axes = figure.add_subplot(1, 1, 1)
    _scatter_by_family(axes, xy, labels, family_table(family_names))
    _finish_tsne_axes(
        figure,
        axes,
        title or f"Face embedding space: {len(xy)} faces by assigned family",
        effective_perplexity(perplexity, len(xy)),
    )
    return save_png(figure, path)


def _tile_shape(tile_size, image_shape):
    if tile_size is None:
        return int(image_shape[0]), int(image_shape[1])
    if np.isscalar(tile_size):
        tile_size = (tile_size, tile_size)
    height, width = (int(v) for v in tile_size)
    if height < 1 or width < 1:
        raise ValueError(f"tile_size must be positive, got {tile_size}")
    return height, width


def _to_tile(image, tile_hw):
    """float (H, W, 3) in [0, 255] → uint8 (tile_h, tile_w, 3), bilinear resize if needed."""
    pixels = np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)
    if pixels.shape[:2] == tile_hw:
        return pixels

    resized = Image.fromarray(pixels).resize((tile_hw[1], tile_hw[0]), Image.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def face_grid(
    images,
    assigned_families,
    path,
    per_row=30,
    seed=0,
    tile_size=64,
    label_width=110,
    family_names=None,
):
    """Fig. 3: faces grouped by assigned family, one row per family.

    Pixel layout of the PNG (a contract the tests check): a black image of
    `label_width + per_row * tile_w` x `n_families * tile_h` pixels; family
    names (and member counts) in white in the left `label_width` columns;
    row r (families in table order, see `family_table`) holds, from x =
    `label_width`, up to `per_row` tiles of that family's faces, chosen at
    random without replacement (seeded) and drawn unresampled by the Agg
    renderer; missing tiles stay black, as in the paper.

    Args:
        images: `(n, H, W, 3)` float faces in [0, 255] (values outside are
            clipped). Only the drawn faces are converted, so a large array
            costs no copy.
        assigned_families: `(n,)` integer family labels (see module doc).
        path: PNG destination.
        per_row: faces per row (the paper shows 30).
        seed: seeds which faces are drawn.
        tile_size: tile side in pixels (int or `(h, w)`), faces resized
            bilinearly; None keeps H x W.
        label_width: pixels left of the grid for the family names.
        family_names: name table of the labels (see module doc).

    Returns:
        `path` as str.

    Raises:
        ValueError: no images, a wrong shape, non-finite values, or invalid labels.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images: expected (n, H, W, 3), got shape {images.shape}")
    if images.shape[0] == 0:
        raise ValueError("face_grid: no images")
    if per_row < 1:
        raise ValueError(f"per_row must be >= 1, got {per_row}")
    labels = check_family_labels(assigned_families, images.shape[0], family_names, "assigned_families")
    table = family_table(family_names)
    tile_h, tile_w = _tile_shape(tile_size, images.shape[1:3])
    rng = np.random.default_rng(seed)

    grid = np.zeros((len(table) * tile_h, per_row * tile_w, 3), dtype=np.uint8)
    drawn = []
    for row, (label, _) in enumerate(table):
        members = np.flatnonzero(labels == label)
        chosen = rng.choice(members, size=min(per_row, len(members)), replace=False) if len(members) else []
        for column, index in enumerate(chosen):
            tile = images[index]
            if not np.all(np.isfinite(tile)):
                raise ValueError(f"images[{index}] contains NaN or infinity")
            drawn.append(float(np.max(tile)))
            grid[row * tile_h : (row + 1) * tile_h, column * tile_w : (column + 1) * tile_w] = _to_tile(
                tile, (tile_h, tile_w)
            )
    if drawn and max(drawn) <= 1.0:
        warnings.warn(
            "face_grid: images look like [0, 1] floats; expected [0, 255], so faces will be black", stacklevel=2
        )

    dpi = 100
    width, height = label_width + grid.shape[1], grid.shape[0]
    figure = new_figure(width, height, dpi=dpi, facecolor="black")
    # figimage draws the array 1:1 at a pixel offset (origin at the bottom
    # left), so tiles land exactly where the layout above says.
    figure.figimage(grid, xo=label_width, yo=0, origin="upper", resize=False)
    font_pt = float(np.clip(0.28 * tile_h * 72.0 / dpi, 4.0, 12.0))
    for row, (label, name) in enumerate(table):
        figure.text(
            (label_width - 6) / width,
            1.0 - (row + 0.5) / len(table),
            f"{name}\n{int(np.sum(labels == label))} faces",
            color="white",
            ha="right",
            va="center",
            fontsize=font_pt,
            linespacing=1.1,
        )
    return save_png(figure, path)


# --- spectrograms ---------------------------------------------


def log_spectrogram(waveform, frame_length=512, frame_step=128):
    """dB magnitude spectrogram `(frames, frame_length // 2 + 1)` of a 1-D waveform (periodic Hann).

    0 dB is a full-scale sinusoid's peak bin; values are clipped below −100 dB.
    """
    waveform = np.asarray(waveform, np.float64).reshape(-1)
    if len(waveform) < frame_length:
        waveform = np.pad(waveform, (0, frame_length - len(waveform)))
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame_length) / frame_length)
    count = 1 + (len(waveform) - frame_length) // frame_step
    frames = np.stack([waveform[i * frame_step : i * frame_step + frame_length] for i in range(count)])
    magnitude = np.abs(np.fft.rfft(frames * window, axis=1)) / (window.sum() / 2)
    return 20 * np.log10(np.maximum(magnitude, 1e-5))


def midi_frequency(pitch):
    """Fundamental frequency in Hz of a MIDI note number (69 → 440)."""
    return 440.0 * 2.0 ** ((np.asarray(pitch, np.float64) - 69.0) / 12.0)


def spectrogram_pairs(real, generated, midi_pitches, path=None, sample_rate=16000, max_hertz=4000, title=None):
    """Spectrograms of real notes beside translations at the same pitch: a uint8 RGB image.

    One row per pair: left a real note of the requested pitch, right the
    generator's translation asked for that pitch, each with a dashed line
    at the fundamental and dotted ones at its first harmonics, so partials
    (or their absence) can be seen without listening.

    Args:
        real: `(n, samples)` real notes.
        generated: `(n, samples)` translations.
        midi_pitches: `(n,)` the requested MIDI pitches.
        path: also write the figure here as PNG (atomically).
        sample_rate: Hz.
        max_hertz: top of the frequency axis.
        title: figure title.

    Returns:
        uint8 `(H, W, 3)` image of the figure.
    """
    real = np.asarray(real)
    generated = np.asarray(generated)
    if real.shape != generated.shape or real.ndim != 2 or len(real) != len(midi_pitches) or not len(real):
        raise ValueError(
            f"spectrogram_pairs: need real and generated of one shape (n >= 1, samples) and n pitches, got "
            f"{real.shape}, {generated.shape}, {len(midi_pitches)}"
        )
    rows = len(real)
    figure = new_figure(720, 150 * rows + 60)
    frame_step = 128
    for row in range(rows):
        f0 = float(midi_frequency(midi_pitches[row]))
        for col, (waveform, label) in enumerate(((real[row], "real note"), (generated[row], "translation"))):
            axes = figure.add_subplot(rows, 2, 2 * row + col + 1)
            spectrum = log_spectrogram(waveform, frame_step=frame_step)
            seconds = len(waveform) / sample_rate
            axes.imshow(
                spectrum.T,
                origin="lower",
                aspect="auto",
                cmap="magma",
                vmin=-90,
                vmax=0,
                extent=(0, seconds, 0, sample_rate / 2),
            )
            for harmonic in range(1, 6):
                if harmonic * f0 < max_hertz:
                    axes.axhline(harmonic * f0, color="cyan", lw=0.6, ls="--" if harmonic == 1 else ":")
            axes.set_ylim(0, max_hertz)
            axes.set_title(f"{label}, MIDI {int(midi_pitches[row])} (f0 {f0:.0f} Hz)", fontsize=8)
            axes.tick_params(labelsize=6)
            if col == 0:
                axes.set_ylabel("Hz", fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(left=0.08, right=0.98, top=1 - 40 / (150 * rows + 60), bottom=0.04, hspace=0.6, wspace=0.15)
    if path is not None:
        save_png(figure, path)
    return figure_pixels(figure)
