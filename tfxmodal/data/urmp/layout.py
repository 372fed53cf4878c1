"""A Sub-URMP copy on disk, checked and indexed: frames `img/<split>/<instrument>/<stem>.jpg` paired with audio chunks.

`index` pairs every frame with its chunk (or, with `lms="image"`, its spectrogram
picture) by instrument and stem, checking every file; `describe` counts and checks a
copy and lists every problem (`python -m tfxmodal.data describe sub_urmp`).
"""

import collections
import concurrent.futures
import dataclasses
import logging
import os
import re

from tfxmodal.audio.wav import AUDIO_EXTENSIONS, audio_info, read_audio
from tfxmodal.data.images import check_image, is_image_name, resolve_validation
from tfxmodal.data.urmp.lms import WINDOW_SECONDS, check_lms
from tfxmodal.domain import CHUNK_SECONDS, SAMPLE_RATE, URMP_INSTRUMENTS
from tfxmodal.errors import AudioFileError, DatasetLayoutError, ImageFileError

logger = logging.getLogger(__name__)


INSTRUMENTS = URMP_INSTRUMENTS  # label order of the authors' code


SPLITS = ("train", "test")


IMAGE_DIR = "img"


CHUNK_DIR = "chunk"


SPECTROGRAM_DIR = "spectram"  # the authors' folder name (sic)


# A chunk shorter than one LMS analysis window gives no spectrogram frame of its own (all padding): an error.
MIN_CHUNK_SECONDS = WINDOW_SECONDS


_MAX_LISTED_PROBLEMS = 50


_STEM_PREFIX = re.compile(r"^([a-z_]+?)_?\d")


# --- indexing Sub-URMP ---------------------------------------------------------


@dataclasses.dataclass
class _Issue:
    path: str
    message: str
    fatal: bool  # an error even with skip_bad_files (layout), else skippable


@dataclasses.dataclass(frozen=True)
class _Layout:
    """The folders (under the root) of a copy's two sides: frames, and WAVs or spectrogram pictures."""

    lms: str = "audio"
    image_dir: str = IMAGE_DIR
    lms_dir: str = SPECTROGRAM_DIR

    def __post_init__(self):
        check_lms(self.lms)

    @property
    def pictures(self):
        return self.lms == "image"

    @property
    def partner_dir(self):
        return self.lms_dir if self.pictures else CHUNK_DIR

    def folder(self, side):
        return self.image_dir if side == "img" else self.partner_dir


@dataclasses.dataclass
class _SplitScan:
    pairs: dict  # instrument -> list of (stem, image path, wav or spectrogram path)
    images: dict  # instrument -> count
    wavs: dict
    unpaired_images: dict
    unpaired_wavs: dict
    issues: list
    notes: list
    ignored: int


def _scan_split(root, split, layout=_Layout()):
    """Lists one split's two sides; the "chunk" side holds WAVs or, with `layout.pictures`, spectrograms."""
    scan = _SplitScan({}, {}, {}, {}, {}, [], [], 0)
    side_dirs = {side: os.path.join(root, layout.folder(side), split) for side in ("img", "chunk")}
    for side, directory in side_dirs.items():
        if not os.path.isdir(directory):
            scan.issues.append(
                _Issue(
                    directory,
                    f"{directory}: no such directory (expected {layout.folder(side)}/{split}/<instrument>/)",
                    True,
                )
            )
    if scan.issues:
        return scan
    files = {"img": {}, "chunk": {}}
    for side, directory in side_dirs.items():
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if name.startswith("."):
                continue
            if not os.path.isdir(path):
                scan.issues.append(
                    _Issue(
                        path,
                        f"{path}: file outside an instrument folder (expected {layout.folder(side)}/{split}/<instrument>/)",
                        False,
                    )
                )
            elif name not in INSTRUMENTS:
                scan.issues.append(
                    _Issue(
                        path,
                        f"{path}: unknown instrument folder {name!r} (expected one of {', '.join(INSTRUMENTS)})",
                        False,
                    )
                )
            else:
                files[side][name] = _list_side(path, side == "img" or layout.pictures, scan)
    absent = [i for i in INSTRUMENTS if i not in files["img"] and i not in files["chunk"]]
    if absent:
        scan.notes.append(f"{split}: no folders for {', '.join(absent)} (0 examples of those classes)")
    for instrument in INSTRUMENTS:
        if instrument in absent:
            continue
        in_img, in_chunk = instrument in files["img"], instrument in files["chunk"]
        images = files["img"].get(instrument, {})
        wavs = files["chunk"].get(instrument, {})
        for present, directory in (
            (in_img, side_dirs["img"]),
            (in_chunk, side_dirs["chunk"]),
        ):
            if not present:
                path = os.path.join(directory, instrument)
                scan.issues.append(_Issue(path, f"{path}: missing instrument folder (the other side has one)", False))
        partners = "spectrogram pictures" if layout.pictures else "chunk WAVs"
        if not images and not wavs:
            path = os.path.join(side_dirs["img"], instrument)
            scan.issues.append(
                _Issue(
                    path,
                    f"{path}: empty class folder (expected <stem>.jpg images and {partners})",
                    False,
                )
            )
        elif layout.pictures and images and not wavs and in_chunk:
            path = os.path.join(side_dirs["chunk"], instrument)
            scan.issues.append(
                _Issue(
                    path,
                    f"{path}: no spectrogram pictures (expected <stem>.png or .jpg for its {len(images)} frames)",
                    False,
                )
            )
        scan.images[instrument] = len(images)
        scan.wavs[instrument] = len(wavs)
        scan.pairs[instrument] = [(s, images[s], wavs[s]) for s in sorted(images) if s in wavs]
        lonely_images = [images[s] for s in sorted(images) if s not in wavs]
        lonely_wavs = [wavs[s] for s in sorted(wavs) if s not in images]
        scan.unpaired_images[instrument] = len(lonely_images)
        scan.unpaired_wavs[instrument] = len(lonely_wavs)
        partner_folder = f"{layout.partner_dir}/{split}/{instrument}"
        for path in lonely_images:
            missing = (
                f"{partner_folder}/{_stem(path)}.png or .jpg spectrogram"
                if layout.pictures
                else f"{partner_folder}/{_stem(path)}.wav or other audio file"
            )
            scan.issues.append(_Issue(path, f"{path}: unpaired image (no {missing})", False))
        for path in lonely_wavs:
            scan.issues.append(
                _Issue(
                    path,
                    f"{path}: unpaired {'spectrogram' if layout.pictures else 'WAV'} "
                    f"(no {layout.image_dir}/{split}/{instrument}/{_stem(path)}.jpg)",
                    False,
                )
            )
    return scan


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _list_side(folder, pictures, scan):
    """stem -> path of the images (`pictures`: frames or spectrograms) or else audio files of one folder."""
    found = {}
    instrument = os.path.basename(folder)
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith("."):
            continue
        if os.path.isdir(path):
            scan.issues.append(_Issue(path, f"{path}: unexpected sub-folder (expected files only)", False))
            continue
        wanted = is_image_name(name) if pictures else name.lower().endswith(AUDIO_EXTENSIONS)
        if not wanted:
            scan.ignored += 1
            continue
        stem = _stem(path)
        prefix = _STEM_PREFIX.match(stem.lower())
        if prefix and prefix.group(1) in INSTRUMENTS and prefix.group(1) != instrument:
            scan.issues.append(
                _Issue(
                    path,
                    f"{path}: file name says {prefix.group(1)!r} but it is in the {instrument!r} folder",
                    False,
                )
            )
            continue
        if stem in found:
            scan.issues.append(_Issue(path, f"{path}: two files with stem {stem!r} (also {found[stem]})", False))
            continue
        found[stem] = path
    return found


def check_chunk_length(info):
    """Raises `AudioFileError` naming the file when a chunk is shorter than `MIN_CHUNK_SECONDS`."""
    if info.frames < MIN_CHUNK_SECONDS * info.sample_rate:
        raise AudioFileError(
            f"{info.path}: {info.frames} samples at {info.sample_rate} Hz ({1000 * info.frames / info.sample_rate:.1f} "
            f"ms); a chunk must hold at least {1000 * MIN_CHUNK_SECONDS:.0f} ms (one LMS window; chunks are "
            f"{CHUNK_SECONDS} s)"
        )


def _check_wav(path, sample_rate, downmix, full):
    """Returns the chunk's `AudioInfo` or raises `AudioFileError` naming the file."""
    info = audio_info(path)
    check_chunk_length(info)
    if info.channels != 1 and not downmix:
        raise AudioFileError(f"{path}: {info.channels} channels, expected mono (downmix=True averages them)")
    if full:
        read_audio(path, sample_rate=sample_rate, mono=True)
    return info


def decodes_in_graph(info, sample_rate):
    """Whether `tf.audio.decode_wav` gives this chunk as it is used: mono 16-bit PCM WAV at `sample_rate`."""
    return info.graph_decodable and info.channels == 1 and info.sample_rate == sample_rate


@dataclasses.dataclass
class PairIndex:
    """The validated (image, WAV) or (image, spectrogram picture) pairs of one Sub-URMP split.

    Attributes:
        image_paths, wav_paths: paired files, sorted by instrument then stem
            (`wav_paths` empty with `lms="image"`).
        labels: instrument index per pair.
        graph_decodable: per pair, whether the chunk decodes in-graph (a
            mono 16-bit PCM WAV at the configured rate); empty with
            `lms="image"`.
        skipped: `(path, reason)` for everything left out under
            `skip_bad_files=True`.
        counts: pairs per instrument name.
        lms: ``"audio"`` or ``"image"``, where the LMS comes from.
        spectrogram_paths: with `lms="image"`, the spectrogram picture of
            each pair (else empty).
    """

    image_paths: list
    wav_paths: list
    labels: list
    graph_decodable: list
    skipped: list
    counts: dict
    lms: str = "audio"
    spectrogram_paths: list = dataclasses.field(default_factory=list)


def index(
    root,
    split="train",
    sample_rate=SAMPLE_RATE,
    validate="auto",
    skip_bad_files=False,
    downmix=True,
    lms="audio",
    image_dir=IMAGE_DIR,
    lms_dir=SPECTROGRAM_DIR,
):
    """Indexes and validates the pairs of one Sub-URMP split.

    Args:
        root: the Sub-URMP folder (holding `img/` and `chunk/`, or with
            `lms="image"` `<image_dir>/` and `<lms_dir>/`).
        split: ``"train"`` or ``"test"``.
        sample_rate: Hz the chunks are used at (others are resampled).
        validate: image validation depth (``"auto"``/``"header"``/``"full"``,
            see `tfxmodal.data.images`); ``"full"`` (``"auto"`` up to 10 000
            pairs) also reads every chunk through `read_audio`, otherwise
            audio headers are checked (format, channels, truncation).
        skip_bad_files: leave out (and count) bad or unpaired files, unknown
            or empty instrument folders, instead of raising. Missing `img/`
            or `chunk/` split folders are always errors.
        downmix: average multi-channel chunks (the default) instead of
            rejecting them.
        lms: ``"audio"`` pairs each frame with its chunk WAV; ``"image"``
            with its spectrogram picture in `lms_dir` (module docstring),
            validated like the frames.
        image_dir: the frames' folder under `root` (the authors' resized
            copy is ``img_256``).
        lms_dir: with `lms="image"`, the spectrogram pictures' folder under
            `root` (the authors': ``spectram``).

    Returns:
        `PairIndex`.

    Raises:
        DatasetLayoutError, ImageFileError, AudioFileError: naming the path
        and what was expected.
    """
    root = os.fspath(root)
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {SPLITS}")
    layout = _Layout(lms, image_dir, lms_dir)
    if not os.path.isdir(root):
        raise DatasetLayoutError(f"{root}: no such directory (expected {_expected_folders(layout)})")
    scan = _scan_split(root, split, layout)
    skipped = []
    for issue in scan.issues:
        if issue.fatal or not skip_bad_files:
            raise DatasetLayoutError(issue.message)
        skipped.append((issue.path, issue.message))
    for note in scan.notes:
        logger.warning("%s: %s", root, note)
    pairs = [
        (INSTRUMENTS.index(inst), image, wav) for inst in INSTRUMENTS for _, image, wav in scan.pairs.get(inst, [])
    ]
    full = resolve_validation(validate, len(pairs)) == "full"

    def check(pair):
        """The partner's header, or `(bad path, error)`."""
        _, image, partner = pair
        path = image
        try:
            check_image(image, full_decode=full)
            path = partner
            if layout.pictures:
                return check_image(partner, full_decode=full)
            return _check_wav(partner, sample_rate, downmix, full)
        except (ImageFileError, AudioFileError) as error:
            return path, error

    # Threads: Pillow and file reads release the GIL.
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        outcomes = list(pool.map(check, pairs))
    result = PairIndex([], [], [], [], skipped, {}, lms=lms)
    rates = collections.Counter()
    for (label, image, partner), header in zip(pairs, outcomes):
        if isinstance(header, tuple):
            if not skip_bad_files:
                raise header[1]
            # The partner of a bad file goes too: it would be unpaired.
            result.skipped.append((header[0], str(header[1])))
            continue
        result.image_paths.append(image)
        result.labels.append(label)
        if layout.pictures:
            result.spectrogram_paths.append(partner)
            continue
        result.wav_paths.append(partner)
        result.graph_decodable.append(decodes_in_graph(header, sample_rate))
        rates[header.sample_rate] += 1
    if not result.image_paths:
        what = "image/spectrogram" if layout.pictures else "image/WAV"
        raise DatasetLayoutError(f"{root}: no usable {what} pairs in split {split!r}")
    counts = collections.Counter(result.labels)
    result.counts = {inst: counts.get(i, 0) for i, inst in enumerate(INSTRUMENTS)}
    other = {rate: count for rate, count in rates.items() if rate != sample_rate}
    if other:
        logger.warning(
            "%s [%s]: resampling %d chunk(s) to %d Hz (soxr, band-limited): %s",
            root,
            split,
            sum(other.values()),
            sample_rate,
            ", ".join(f"{count} at {rate} Hz" for rate, count in sorted(other.items())),
        )
    if result.skipped:
        logger.warning(
            "%s [%s]: skipped %d bad file(s)/folder(s) (skip_bad_files=True): %s%s",
            root,
            split,
            len(result.skipped),
            "; ".join(r for _, r in result.skipped[:3]),
            " ..." if len(result.skipped) > 3 else "",
        )
    return result


def _expected_folders(layout):
    return f"{layout.image_dir}/ and {layout.partner_dir}/ folders"


def describe(
    root, sample_rate=SAMPLE_RATE, check_files=True, lms="audio", image_dir=IMAGE_DIR, lms_dir=SPECTROGRAM_DIR
):
    """Counts and problems of a Sub-URMP copy, JSON-able; never raises on bad data.

    Args:
        root: the Sub-URMP folder.
        sample_rate: the rate chunks are used at, Hz (others are resampled:
            listed in `wav_formats`, not problems).
        check_files: header-check every image and chunk (about 0.1 ms a file).
        lms, image_dir, lms_dir: the layout, as in `index`.

    Returns:
        dict with `root`, `lms`, `instruments`, `expected_sample_rate`,
        `splits` (per split: `pairs`, `images`, `wavs`, and `per_instrument`
        counts of pairs, images, wavs, unpaired images and WAVs), `totals`,
        `wav_formats` ("16000 Hz, 1 ch, WAV PCM_16" → count), `chunk_lengths`
        (samples → count), `ignored_files`, `notes`, `problem_count`,
        `problems` (the first 50 messages) and `ok` (no problems). With
        `lms="image"` the keys say `spectrograms` for `wavs` (and
        `unpaired_spectrograms`), and `spectrogram_formats` ("PNG 256x256
        RGB" → count) replaces `wav_formats` and `chunk_lengths`.
    """
    root = os.fspath(root)
    layout = _Layout(lms, image_dir, lms_dir)
    partners = "spectrograms" if layout.pictures else "wavs"
    report = {
        "root": root,
        "lms": lms,
        "instruments": list(INSTRUMENTS),
        "expected_sample_rate": sample_rate,
        "splits": {},
        "totals": {"pairs": 0, "images": 0, partners: 0},
        **({"spectrogram_formats": {}} if layout.pictures else {"wav_formats": {}, "chunk_lengths": {}}),
        "ignored_files": 0,
        "notes": [],
    }
    problems = []
    formats = collections.Counter()
    lengths = collections.Counter()
    if not os.path.isdir(root):
        problems.append(f"{root}: no such directory (expected {_expected_folders(layout)})")
    else:
        for split in SPLITS:
            scan = _scan_split(root, split, layout)
            problems.extend(issue.message for issue in scan.issues)
            report["notes"].extend(scan.notes)
            report["ignored_files"] += scan.ignored
            if any(issue.fatal for issue in scan.issues):
                continue
            per_instrument = {}
            for instrument in INSTRUMENTS:
                pairs = scan.pairs.get(instrument, [])
                per_instrument[instrument] = {
                    "pairs": len(pairs),
                    "images": scan.images.get(instrument, 0),
                    partners: scan.wavs.get(instrument, 0),
                    "unpaired_images": scan.unpaired_images.get(instrument, 0),
                    f"unpaired_{partners}": scan.unpaired_wavs.get(instrument, 0),
                }
                if check_files:
                    for _, image, wav in pairs:
                        try:
                            check_image(image)
                        except ImageFileError as error:
                            problems.append(str(error))
                        if layout.pictures:
                            try:
                                info = check_image(wav)
                            except ImageFileError as error:
                                problems.append(str(error))
                                continue
                            formats[f"{info.format} {info.width}x{info.height} {info.mode}"] += 1
                            continue
                        try:
                            header = audio_info(wav)
                            check_chunk_length(header)
                        except AudioFileError as error:
                            problems.append(str(error))
                            continue
                        formats[f"{header.sample_rate} Hz, {header.channels} ch, {header.encoding}"] += 1
                        lengths[header.frames] += 1
            totals = {
                key: sum(counts[key] for counts in per_instrument.values()) for key in ("pairs", "images", partners)
            }
            report["splits"][split] = {**totals, "per_instrument": per_instrument}
            for key in totals:
                report["totals"][key] += totals[key]
    if layout.pictures:
        report["spectrogram_formats"] = dict(sorted(formats.items()))
    else:
        report["wav_formats"] = dict(sorted(formats.items()))
        report["chunk_lengths"] = {str(k): v for k, v in sorted(lengths.items())}
    report["problem_count"] = len(problems)
    report["problems"] = problems[:_MAX_LISTED_PROBLEMS]
    report["ok"] = not problems
    return report
