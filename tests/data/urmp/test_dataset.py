"""Sub-URMP as examples: frame, chunk and label together; audio at any rate, channel count and encoding."""

import os

import numpy as np
import soundfile

from tests.support.urmp_trees import (
    TREE,
    collect,
    dominant_frequency,
    dominant_frequency_row,
    expect_error,
    sine,
    write_tree,
)
from tfxmodal.audio.wav import audio_info, read_audio
from tfxmodal.data.urmp.dataset import sub_urmp
from tfxmodal.data.urmp.layout import INSTRUMENTS
from tfxmodal.data.urmp.layout import describe as describe_urmp
from tfxmodal.data.urmp.layout import index as index_urmp
from tfxmodal.errors import AudioFileError


def test_examples_pair_frame_chunk_and_label(tree):
    examples = collect(sub_urmp(tree, "train", image_size=32))
    assert len(examples) == 6
    rows = {}
    for example in examples:
        assert example["image"].shape == (32, 32, 3) and example["image"].dtype == np.float32
        assert example["lms"].shape == (32, 32, 1) and example["audio"].shape == (8000,)
        assert example["label"].dtype == np.int32
        assert example["image"].min() >= -1.0 and example["image"].max() <= 1.0
        instrument = INSTRUMENTS[example["label"]]
        colour, _ = TREE[instrument]
        pixel = (example["image"].reshape(-1, 3).mean(0) + 1.0) * 127.5
        assert np.abs(pixel - colour).max() < 3.0  # the frame of this instrument
        rows[instrument] = dominant_frequency_row(example["lms"], 32)
    # Higher sine → loudest band nearer the top: the chunk of this instrument.
    assert rows["cello"] > rows["flute"] > rows["violin"]
    # The audio is the WAV's samples (16-bit PCM / 32768), decoded in-graph.
    expected, _ = read_audio(os.path.join(tree, "chunk", "train", "cello", "cello00_100.wav"))
    np.testing.assert_array_equal(examples[0]["audio"], expected)


def test_chunks_at_other_rates_are_resampled_and_stereo_mixed_down(broken, caplog):
    """URMP's recordings are 48 kHz; a copy's chunks may come at any rate, stereo or mono."""
    wav = broken / "chunk" / "train" / "violin" / "violin00_600.wav"
    soundfile.write(str(wav), sine(1760.0, rate=48000), 48000, subtype="PCM_16")
    with caplog.at_level("WARNING"):
        index = index_urmp(broken, "train")
    assert "resampling 1 chunk(s) to 16000 Hz (soxr, band-limited): 1 at 48000 Hz" in caplog.text
    assert index.graph_decodable == [True, True, True, True, True, False]
    examples = collect(sub_urmp(broken, "train", image_size=16))
    assert examples[-1]["audio"].shape == (8000,)
    np.testing.assert_allclose(examples[-1]["audio"][200:-200], sine(1760.0)[200:-200], atol=2e-3)

    stereo = np.stack([sine(1760.0), 0.5 * sine(1760.0)], axis=1)
    soundfile.write(str(wav), stereo, 16000, subtype="PCM_16")
    examples = collect(sub_urmp(broken, "train", image_size=16))
    np.testing.assert_allclose(examples[-1]["audio"], 0.75 * sine(1760.0), atol=2e-4)
    expect_error(
        broken, AudioFileError, "violin00_600.wav: 2 channels, expected mono", labels=[1, 1, 4, 4, 12], downmix=False
    )


def test_other_encodings_decode_through_soundfile(broken):
    wav = broken / "chunk" / "train" / "cello" / "cello00_600.wav"
    soundfile.write(str(wav), sine(220.0), 16000, subtype="PCM_24")
    float_wav = broken / "chunk" / "train" / "flute" / "flute00_600.wav"
    soundfile.write(str(float_wav), sine(880.0), 16000, subtype="FLOAT")
    index = index_urmp(broken, "train")
    assert index.graph_decodable == [True, False, True, False, True, True]
    examples = collect(sub_urmp(broken, "train", image_size=16))
    np.testing.assert_allclose(examples[1]["audio"], sine(220.0), atol=1e-6)
    np.testing.assert_array_equal(examples[3]["audio"], sine(880.0))
    assert audio_info(wav).encoding == "WAV PCM_24"
    assert audio_info(float_wav).encoding == "WAV FLOAT"
    info = audio_info(broken / "chunk" / "train" / "cello" / "cello00_100.wav")
    assert (info.encoding, info.channels, info.sample_rate, info.frames) == ("WAV PCM_16", 1, 16000, 8000)


def test_a_flac_chunk_is_a_chunk(broken):
    wav = broken / "chunk" / "train" / "violin" / "violin00_600.wav"
    os.remove(wav)
    soundfile.write(str(wav.with_suffix(".flac")), sine(440.0, rate=44100), 44100)
    examples = collect(sub_urmp(broken, "train", image_size=16))
    assert abs(dominant_frequency(examples[-1]["audio"]) - 440.0) < 4


def test_other_sample_rate_is_an_option(tmp_path):
    root = write_tree(
        tmp_path / "at22k",
        rate=22050,
        tree={"tuba": ((90, 90, 90), 110.0)},
        stems={"train": ["00_1"], "test": ["00_2"]},
    )
    (at_16k,) = collect(sub_urmp(root, "train", image_size=24))  # resampled to the default 16 kHz
    assert at_16k["audio"].shape == (8000,) and abs(dominant_frequency(at_16k["audio"]) - 110.0) < 4
    (example,) = collect(sub_urmp(root, "train", image_size=24, sample_rate=22050))
    assert example["audio"].shape == (11025,) and example["lms"].shape == (24, 24, 1)
    assert example["label"] == INSTRUMENTS.index("tuba")
    assert describe_urmp(root, sample_rate=22050)["ok"]
