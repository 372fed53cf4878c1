"""urmp: Sub-URMP trees of real JPEGs and WAVs, pairing, conversion, describe, bad input.

Each instrument's frames are drawn in its own colour and its chunks are
sines at its own frequency, so a decoded example shows whether image, audio
and label really belong together.
"""

import json
import math
import os
import re
import shutil
import wave

import numpy as np
import pytest
import tensorflow as tf

from tests.data.test_images import noise, save, truncated_copy
from tfxmodal.audio.features import log_mel_spectrogram
from tfxmodal.audio.wav import AudioFileError, audio_info, read_audio, write_wav
from tfxmodal.data import urmp, urmp_pipeline
from tfxmodal.data.images import DatasetLayoutError, ImageFileError

# instrument -> (frame colour, chunk frequency in Hz)
TREE = {
    "cello": ((200, 40, 40), 220.0),
    "flute": ((40, 200, 40), 880.0),
    "violin": ((40, 40, 200), 1760.0),
}
STEMS = {"train": ["00_100", "00_600"], "test": ["01_100"]}


def sine(freq, amplitude=0.3, rate=16000, seconds=0.5):
    t = np.arange(int(round(rate * seconds))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def frame(colour, height=36, width=48):
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = colour
    return image


def write_tree(root, rate=16000, tree=TREE, stems=STEMS):
    for split, split_stems in stems.items():
        for instrument, (colour, freq) in tree.items():
            for stem in split_stems:
                save(
                    root / "img" / split / instrument / f"{instrument}{stem}.jpg",
                    frame(colour),
                    quality=95,
                )
                write_wav(
                    root / "chunk" / split / instrument / f"{instrument}{stem}.wav",
                    sine(freq, rate=rate),
                    rate,
                )
    return root


def write_pcm24(path, samples, rate=16000):
    pcm = np.round(samples * (2**23 - 1)).astype(np.int32)
    raw = np.stack([(pcm >> shift) & 0xFF for shift in (0, 8, 16)], axis=1).astype(np.uint8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(3)
        handle.setframerate(rate)
        handle.writeframes(raw.tobytes())


def collect(dataset):
    return [{k: v.numpy() for k, v in example.items()} for example in dataset]


def dominant_frequency_row(lms, size):
    """Row (0 = top = high frequency) of the loudest mel band, averaged over time."""
    return int(np.argmax(lms[..., 0].mean(axis=1)))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_tree(tmp_path_factory.mktemp("sub_urmp"))


def test_instrument_order_is_car_gans():
    assert urmp.INSTRUMENTS == (
        "bassoon",
        "cello",
        "clarinet",
        "double_bass",
        "flute",
        "horn",
        "oboe",
        "sax",
        "trombone",
        "trumpet",
        "tuba",
        "viola",
        "violin",
    )
    assert urmp.chunk_samples() == 8000 and urmp.chunk_samples(22050) == 11025


def test_index_pairs_by_stem_and_labels_by_instrument_order(tree):
    index = urmp.index(tree, "train")
    assert index.labels == [1, 1, 4, 4, 12, 12]
    assert [os.path.basename(p) for p in index.image_paths][:2] == [
        "cello00_100.jpg",
        "cello00_600.jpg",
    ]
    for image, wav in zip(index.image_paths, index.wav_paths):
        assert urmp._stem(image) == urmp._stem(wav)
        assert image.split(os.sep)[-2] == wav.split(os.sep)[-2]
    assert all(index.graph_decodable) and index.skipped == []
    assert index.counts["cello"] == 2 and index.counts["bassoon"] == 0


def test_examples_pair_frame_chunk_and_label(tree):
    examples = collect(urmp.sub_urmp(tree, "train", image_size=32))
    assert len(examples) == 6
    rows = {}
    for example in examples:
        assert example["image"].shape == (32, 32, 3) and example["image"].dtype == np.float32
        assert example["lms"].shape == (32, 32, 1) and example["audio"].shape == (8000,)
        assert example["label"].dtype == np.int32
        assert -1.0 <= example["image"].min() and example["image"].max() <= 1.0
        instrument = urmp.INSTRUMENTS[example["label"]]
        colour, _ = TREE[instrument]
        pixel = (example["image"].reshape(-1, 3).mean(0) + 1.0) * 127.5
        assert np.abs(pixel - colour).max() < 3.0  # the frame of this instrument
        rows[instrument] = dominant_frequency_row(example["lms"], 32)
    # Higher sine → loudest band nearer the top: the chunk of this instrument.
    assert rows["cello"] > rows["flute"] > rows["violin"]
    # The audio is the WAV's samples (16-bit PCM / 32768), decoded in-graph.
    expected, _ = read_audio(os.path.join(tree, "chunk", "train", "cello", "cello00_100.wav"))
    np.testing.assert_array_equal(examples[0]["audio"], expected)


def test_lms_is_the_fixed_affine_image_of_log_mel(tree):
    audio = sine(440.0, 0.5)
    picture = urmp.lms_image(tf.constant(audio), 118).numpy()[..., 0]
    lms = log_mel_spectrogram(audio).numpy()  # (118 frames, 128 mels)
    expected = tf.image.resize(
        ((lms.T[::-1] - urmp.LMS_CENTRE) / urmp.LMS_HALF_RANGE)[..., None],
        [118, 118],
        antialias=True,
    ).numpy()[..., 0]
    np.testing.assert_allclose(picture, expected, atol=1e-5)
    assert urmp.LMS_SILENCE == pytest.approx(math.log(1e-6))
    silent = urmp.lms_image(tf.zeros([8000]), 16).numpy()
    np.testing.assert_allclose(silent, -1.0, atol=1e-6)  # digital silence is exactly -1
    np.testing.assert_allclose(urmp.denormalise_lms(urmp.normalise_lms(lms)), lms, atol=1e-4)
    # No per-example normalisation: 10x the amplitude lifts the loud bands by
    # log(10) / LMS_HALF_RANGE, and a full-scale tone stays near +1.
    loud = urmp.lms_image(tf.constant(sine(440.0, 0.9)), 64).numpy()
    quiet = urmp.lms_image(tf.constant(sine(440.0, 0.09)), 64).numpy()
    assert loud.max() - quiet.max() == pytest.approx(math.log(10) / urmp.LMS_HALF_RANGE, abs=0.01)
    assert 0.5 < loud.max() < 1.05


def test_fit_length_crops_and_pads():
    np.testing.assert_array_equal(urmp.fit_length(tf.range(5.0), 3).numpy(), [0, 1, 2])
    np.testing.assert_array_equal(urmp.fit_length(tf.range(2.0), 4).numpy(), [0, 1, 0, 0])


def test_describe_reports_counts_per_split_and_instrument(tree):
    report = urmp.describe(tree)
    assert json.loads(json.dumps(report)) == report
    assert report["ok"] and report["problems"] == [] and report["problem_count"] == 0
    assert report["totals"] == {"pairs": 9, "images": 9, "wavs": 9}
    assert report["splits"]["train"]["pairs"] == 6 and report["splits"]["test"]["pairs"] == 3
    assert report["splits"]["train"]["per_instrument"]["flute"] == {
        "pairs": 2,
        "images": 2,
        "wavs": 2,
        "unpaired_images": 0,
        "unpaired_wavs": 0,
    }
    assert report["splits"]["test"]["per_instrument"]["bassoon"]["pairs"] == 0
    assert report["wav_formats"] == {"16000 Hz, 1 ch, WAV PCM_16": 9}
    assert report["chunk_lengths"] == {"8000": 9}
    assert report["notes"] == [
        f"{split}: no folders for bassoon, clarinet, double_bass, horn, oboe, sax, trombone, "
        "trumpet, tuba, viola (0 examples of those classes)"
        for split in ("train", "test")
    ]


@pytest.fixture
def broken(tmp_path, tree):
    root = tmp_path / "broken"
    shutil.copytree(tree, root)
    return root


def expect_error(root, error, message, labels=(1, 1, 4, 4, 12, 12), **kwargs):
    """`index` raises `error` matching `message`; with skip_bad_files one thing is skipped."""
    with pytest.raises(error, match=message):
        urmp.index(root, "train", **kwargs)
    index = urmp.index(root, "train", skip_bad_files=True, **kwargs)
    assert len(index.skipped) == 1, index.skipped
    assert index.labels == list(labels)  # the remaining good pairs, labels unchanged
    return index


def test_unpaired_files_are_errors_or_skipped(broken):
    save(broken / "img" / "train" / "cello" / "cello09_1.jpg", frame((0, 0, 0)))
    index = expect_error(
        broken,
        DatasetLayoutError,
        r"cello09_1.jpg: unpaired image \(no chunk/train/cello/cello09_1.wav or other audio file\)",
    )
    assert "unpaired image" in index.skipped[0][1]
    os.remove(broken / "img" / "train" / "cello" / "cello09_1.jpg")
    write_wav(broken / "chunk" / "train" / "flute" / "flute09_1.wav", sine(100), 16000)
    expect_error(broken, DatasetLayoutError, "flute09_1.wav: unpaired WAV")


def test_a_chunk_shorter_than_one_lms_window_is_an_error_in_index_and_describe(broken):
    wav = broken / "chunk" / "train" / "violin" / "violin00_600.wav"
    write_wav(wav, sine(1760.0)[:10], 16000)  # 0.6 ms
    message = f"{wav}: 10 samples at 16000 Hz (0.6 ms); a chunk must hold at least 32 ms"
    expect_error(broken, AudioFileError, re.escape(message), labels=[1, 1, 4, 4, 12])
    report = urmp.describe(broken)
    assert report["ok"] is False and [p for p in report["problems"] if "violin00_600" in p] == [
        message + " (one LMS window; chunks are 0.5 s)"
    ]
    write_wav(wav, sine(1760.0)[:512], 16000)  # exactly one window: used (zero-padded to 0.5 s)
    assert urmp.index(broken, "train").labels == [1, 1, 4, 4, 12, 12] and urmp.describe(broken)["ok"]


def dominant_frequency(samples, rate=16000):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * rate / len(samples)


def test_chunks_at_other_rates_are_resampled_and_stereo_mixed_down(broken, caplog):
    """URMP's recordings are 48 kHz; a copy's chunks may come at any rate, stereo or mono."""
    import soundfile

    wav = broken / "chunk" / "train" / "violin" / "violin00_600.wav"
    soundfile.write(str(wav), sine(1760.0, rate=48000), 48000, subtype="PCM_16")
    with caplog.at_level("WARNING"):
        index = urmp.index(broken, "train")
    assert "resampling 1 chunk(s) to 16000 Hz (soxr, band-limited): 1 at 48000 Hz" in caplog.text
    assert index.graph_decodable == [True, True, True, True, True, False]
    examples = collect(urmp.sub_urmp(broken, "train", image_size=16))
    assert examples[-1]["audio"].shape == (8000,)
    np.testing.assert_allclose(examples[-1]["audio"][200:-200], sine(1760.0)[200:-200], atol=2e-3)

    stereo = np.stack([sine(1760.0), 0.5 * sine(1760.0)], axis=1)
    soundfile.write(str(wav), stereo, 16000, subtype="PCM_16")
    examples = collect(urmp.sub_urmp(broken, "train", image_size=16))
    np.testing.assert_allclose(examples[-1]["audio"], 0.75 * sine(1760.0), atol=2e-4)
    expect_error(
        broken, AudioFileError, "violin00_600.wav: 2 channels, expected mono", labels=[1, 1, 4, 4, 12], downmix=False
    )


def test_other_encodings_decode_through_soundfile(broken):
    import soundfile

    wav = broken / "chunk" / "train" / "cello" / "cello00_600.wav"
    soundfile.write(str(wav), sine(220.0), 16000, subtype="PCM_24")
    float_wav = broken / "chunk" / "train" / "flute" / "flute00_600.wav"
    soundfile.write(str(float_wav), sine(880.0), 16000, subtype="FLOAT")
    index = urmp.index(broken, "train")
    assert index.graph_decodable == [True, False, True, False, True, True]
    examples = collect(urmp.sub_urmp(broken, "train", image_size=16))
    np.testing.assert_allclose(examples[1]["audio"], sine(220.0), atol=1e-6)
    np.testing.assert_array_equal(examples[3]["audio"], sine(880.0))
    assert audio_info(wav).encoding == "WAV PCM_24"
    assert audio_info(float_wav).encoding == "WAV FLOAT"
    info = audio_info(broken / "chunk" / "train" / "cello" / "cello00_100.wav")
    assert (info.encoding, info.channels, info.sample_rate, info.frames) == ("WAV PCM_16", 1, 16000, 8000)


def test_a_flac_chunk_is_a_chunk(broken):
    import soundfile

    wav = broken / "chunk" / "train" / "violin" / "violin00_600.wav"
    os.remove(wav)
    soundfile.write(str(wav.with_suffix(".flac")), sine(440.0, rate=44100), 44100)
    examples = collect(urmp.sub_urmp(broken, "train", image_size=16))
    assert abs(dominant_frequency(examples[-1]["audio"]) - 440.0) < 4


def test_truncated_empty_and_corrupt_files(broken):
    wav = broken / "chunk" / "train" / "cello" / "cello00_600.wav"
    data = wav.read_bytes()
    wav.write_bytes(data[: len(data) - 1000])
    expect_error(
        broken,
        AudioFileError,
        r"cello00_600.wav: truncated WAV \(15000 of 16000 data bytes\)",
        labels=[1, 4, 4, 12, 12],
    )
    wav.write_bytes(b"")
    expect_error(
        broken,
        AudioFileError,
        "cello00_600.wav: empty file, expected a WAV",
        labels=[1, 4, 4, 12, 12],
    )
    wav.write_bytes(data)
    image = broken / "img" / "train" / "flute" / "flute00_100.jpg"
    big = save(broken / "big.jpg", noise(200, 200))
    truncated_copy(big, image)
    expect_error(
        broken,
        ImageFileError,
        "flute00_100.jpg: truncated JPEG",
        [1, 1, 4, 12, 12],
        validate="header",
    )
    expect_error(
        broken,
        ImageFileError,
        "flute00_100.jpg: not a readable",
        [1, 1, 4, 12, 12],
        validate="full",
    )


def test_folder_problems(broken):
    os.makedirs(broken / "img" / "train" / "oboe")
    os.makedirs(broken / "chunk" / "train" / "oboe")
    expect_error(broken, DatasetLayoutError, "img/train/oboe: empty class folder")
    shutil.rmtree(broken / "img" / "train" / "oboe")
    shutil.rmtree(broken / "chunk" / "train" / "oboe")
    save(broken / "img" / "train" / "piano" / "piano00_1.jpg", frame((9, 9, 9)))
    expect_error(broken, DatasetLayoutError, "unknown instrument folder 'piano'")
    shutil.rmtree(broken / "img" / "train" / "piano")
    # A file whose name says violin in the cello folder: never silently a cello.
    save(broken / "img" / "train" / "cello" / "violin07_1.jpg", frame((9, 9, 9)))
    write_wav(broken / "chunk" / "train" / "cello" / "violin07_1.wav", sine(100), 16000)
    with pytest.raises(
        DatasetLayoutError,
        match="violin07_1.jpg: file name says 'violin' but it is in the 'cello' folder",
    ):
        urmp.index(broken, "train")
    index = urmp.index(broken, "train", skip_bad_files=True)
    assert len(index.skipped) == 2 and index.labels == [1, 1, 4, 4, 12, 12]
    shutil.rmtree(broken / "chunk" / "test")
    with pytest.raises(DatasetLayoutError, match="chunk/test: no such directory"):
        urmp.index(broken, "test", skip_bad_files=True)  # layout errors are never skipped
    with pytest.raises(DatasetLayoutError, match="no such directory"):
        urmp.index(broken / "nowhere", "train")


def test_describe_lists_problems_without_raising(broken):
    save(broken / "img" / "train" / "cello" / "cello09_1.jpg", frame((0, 0, 0)))
    write_wav(broken / "chunk" / "train" / "violin" / "violin00_600.wav", sine(1, rate=22050), 22050)
    shutil.rmtree(broken / "img" / "test")
    (broken / "chunk" / "train" / "flute" / "notes.txt").write_text("x")
    report = urmp.describe(broken)
    assert not report["ok"] and report["problem_count"] == 2  # a 22050 Hz chunk is resampled, not a problem
    assert any("cello09_1.jpg: unpaired image" in p for p in report["problems"])
    assert any("img/test: no such directory" in p for p in report["problems"])
    assert report["splits"]["train"]["per_instrument"]["cello"]["unpaired_images"] == 1
    assert "test" not in report["splits"]
    assert report["wav_formats"] == {"16000 Hz, 1 ch, WAV PCM_16": 5, "22050 Hz, 1 ch, WAV PCM_16": 1}
    assert report["ignored_files"] == 1
    assert urmp.describe(broken / "nowhere")["problems"] == [
        f"{broken / 'nowhere'}: no such directory (expected img/ and chunk/ folders)"
    ]


def test_other_sample_rate_is_an_option(tmp_path):
    root = write_tree(
        tmp_path / "at22k",
        rate=22050,
        tree={"tuba": ((90, 90, 90), 110.0)},
        stems={"train": ["00_1"], "test": ["00_2"]},
    )
    (at_16k,) = collect(urmp.sub_urmp(root, "train", image_size=24))  # resampled to the default 16 kHz
    assert at_16k["audio"].shape == (8000,) and abs(dominant_frequency(at_16k["audio"]) - 110.0) < 4
    (example,) = collect(urmp.sub_urmp(root, "train", image_size=24, sample_rate=22050))
    assert example["audio"].shape == (11025,) and example["lms"].shape == (24, 24, 1)
    assert example["label"] == urmp.INSTRUMENTS.index("tuba")
    assert urmp.describe(root, sample_rate=22050)["ok"]


def test_pipeline_shards_and_distributes(tree, two_cpu_strategy):
    shards = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=pipeline_id, num_replicas_in_sync=2
        )
        shards.append(collect(urmp.sub_urmp(tree, "train", image_size=8, input_context=context)))
    assert [[int(e["label"]) for e in shard] for shard in shards] == [[1, 4, 12], [1, 4, 12]]
    everything = collect(urmp.sub_urmp(tree, "train", image_size=8))
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
        urmp.index(tree, "valid")
