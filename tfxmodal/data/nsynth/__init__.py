"""NSynth (Engel et al. 2017): readers of TFDS builds and raw Magenta TFRecords, the embedded mini-NSynth.

Every reader yields the same unbatched examples, a dict:

    audio       float32 (num_samples,)  waveform at 16 kHz, in [-1, 1]
    pitch       int32 ()                MIDI pitch 0-127
    velocity    int32 ()                MIDI velocity 0-127
    family      int32 ()                NSynth family index (bass 0 … vocal 10)
    source      int32 ()                acoustic 0, electronic 1, synthetic 2
    instrument  int32 ()                instrument index (NSynth: 0-1005;
                                        mini_nsynth: the GM program)
    id          string ()               note id, e.g. b"guitar_acoustic_024-060-100"

Sources:
- a TFDS builder name: `nsynth/full`, `nsynth/gansynth_subset` (prepared
  beforehand; nothing is downloaded here), or `mini_nsynth[/tiny]`, the
  embedded stand-in with the same schema (`tfxmodal.data.nsynth.mini`);
- raw Magenta TFRecord files (`nsynth-train.tfrecord`, …): a file, a glob, a
  list of them, or the directory holding `nsynth-{split}.tfrecord`.

`paper_filter=True` applies the paper's selection (Section 5.2): acoustic
notes (source 0) of pitch 24-84, first 8192 samples (60,788 notes of the real
train split).

Raw TFRecords are checked record by record as they are parsed, in the graph
(`check_magenta_record` says the same in Python): every key's kind and count,
the audio's length, the labels' ranges. A bad record, an empty file or data
that stops being readable is an error naming the file and the record index
(`bad_data_error`), or with `skip_bad_records` is left out;
`scan_tfrecords` and `describe_tfrecords` read every record once and list
them all.

Modules, one job each: `families` (label tables, the paper's families,
pure Python), `records` (raw TFRecords read and checked), `reader` (any
source as examples, the training pipeline), `describe` (the `describe
nsynth-tfrecord` report), `mini` (the mini-NSynth TFDS builder).
"""
