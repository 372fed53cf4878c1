"""Face loaders for the face embedder (Kim et al. 2020): one output format, many sources.

Every image source yields unbatched examples::

    {"image": float32 (image_size, image_size, 3), RGB in [0, 255],
     "identity": int32 scalar, -1 when unknown}

and precomputed embeddings yield::

    {"embedding": float32 (D,), "identity": int32 scalar, -1 when unknown}

Sources (`faces.pipeline.pipeline(source=...)`):

* ``"lfw"`` (embedded default): the 100 real LFW faces bundled with
  scikit-image (`skimage.data.lfw_subset()`, whose first 100 images are
  faces and last 100 non-faces). They are 25×25 grey, so at 64×64 they are
  upsampled and blurry, and 100 faces is tiny: enough to exercise the code
  and the demo, not to learn a face embedding. Identities are unknown (-1).
* ``"identity_folders"``: a VGGFace2-style tree ``<root>/<identity>/<image>``;
  the identity label is the index of the folder name among the sorted
  identity folders (so labels never shift when a folder is empty or
  skipped).
* ``"image_folder"``: every image under a folder, recursively, no labels.
* ``"vgg_face2"``: the TFDS `vgg_face2` dataset built from a manual download
  (`tfxmodal.data.faces.vgg_face2`); identity = its per-split `label`.
* ``"embeddings"``: precomputed embeddings, a `.npy` of shape (N, D) (with
  optional identities) or TFRecord files of `tf.train.Example` with a float
  feature ``embedding`` (D values) and an optional int feature ``identity``.
  At VGGFace2 scale, embed once and train from embeddings.

Images are resized keeping their aspect ratio (shorter side to `image_size`,
then the central square) — VGGFace2 crops are loose and not square. Files
are validated in Python while indexing (see `tfxmodal.data.images`); bad
files raise an error naming the file, or with `skip_bad_files=True` are
left out, counted in the index's `skipped` and reported with a warning.

Modules, one job each: `index` (a folder indexed once, seeded samples of
it), `sources` (the image sources), `embeddings` (precomputed embedding
files), `augment`, `pipeline` (a source by name, augmented, batched),
`selection` (a source indexed once, its seeded samples streamed in slices),
`vgg_face2` (the TFDS builder), `benchmark`.
"""
