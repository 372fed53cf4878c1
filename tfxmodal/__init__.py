"""tfxmodal: Keras 3 / TensorFlow toolkit for cross-modal GANs.

Subpackages: `layers` (Keras layers of the papers), `audio` (TF-native audio
features). Importing `tfxmodal` itself does not import TensorFlow, so the
command-line help stays fast.
"""

__version__ = "0.1.0"
