"""Sub-URMP (CAR-GAN's dataset, Duan et al. 2020), its embedded stand-in mini-URMP, and CAR-GAN's pipeline over either.

Reads a Sub-URMP copy — video frames `img/<split>/<instrument>/<stem>.jpg`
paired by instrument and stem with the 0.5-s audio chunks `chunk/…` or, with
``lms="image"``, with the authors' spectrogram pictures — and converts every
pair with `lms.to_example` into ``{"image", "lms", "audio", "label"}`` (S × S
image and LMS, about [-1, 1]; no ``"audio"`` with ``lms="image"``). The
layout, how audio is read and resampled, the LMS and its fixed
normalisation: docs/data.md, "Sub-URMP (for CAR-GAN)".

Modules, one job each: `lms` (the LMS transform and the example
conversion), `layout` (a copy's folders checked and indexed; `describe`),
`dataset` (Sub-URMP as tf.data), `mini` (the mini-URMP TFDS builder),
`pipeline` (CAR-GAN's pipeline over either source).
"""
