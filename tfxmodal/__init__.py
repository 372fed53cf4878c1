"""tfxmodal: Keras 3 / TensorFlow toolkit for cross-modal GANs.

One package per paper (`face2music`, `car_gan`) on shared floors (`layers`,
`audio`, `losses`, `metrics`, `data`, `models`, `trainers`, `export`,
`evaluation`, `tasks`); `registry` lists the tasks, `cli` the commands,
`errors` every user-facing error (docs/library.md, "Layout"). Importing
`tfxmodal` itself does not import TensorFlow, so the command-line help stays
fast.
"""

__version__ = "0.1.0"
