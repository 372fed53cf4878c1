"""`python -m tfxmodal.demo`: the main job on the embedded default data.

Until the face-to-music trainer lands, the demo exercises what exists:
it renders a few real soundfont notes, writes them as WAVs and reports
their 377-value MFCC vectors and log-mel spectrogram shapes as JSON.
"""

import argparse
import json
import os
import sys

import numpy as np

NOTES = [  # (GM program, MIDI pitch, velocity): a string, a flute, a piano
    (40, 60, 100),
    (73, 72, 75),
    (0, 48, 127),
]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tfxmodal.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo", help="output directory")
    args = parser.parse_args(argv)

    from tfxmodal import audio
    from tfxmodal.audio.soundfont import NoteRenderer
    from tfxmodal.audio.wav import write_wav

    renderer = NoteRenderer(sample_rate=16000)
    clips = np.stack([renderer.render(*note)[:8192] for note in NOTES])
    for (program, pitch, velocity), clip in zip(NOTES, clips):
        write_wav(os.path.join(args.out, f"program{program:03d}_pitch{pitch:03d}.wav"), clip, 16000)
    mfccs = audio.mfcc(clips).numpy()
    log_mel = audio.log_mel_spectrogram(clips[:, :8000]).numpy()
    report = {
        "notes": [dict(zip(("program", "pitch", "velocity"), note)) for note in NOTES],
        "mfcc_shape": list(mfccs.shape),
        "log_mel_shape": list(log_mel.shape),
        "mfcc_pairwise_l2": np.linalg.norm(mfccs[:, None] - mfccs[None], axis=-1).round(2).tolist(),
        "out": args.out,
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
