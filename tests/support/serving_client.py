"""A stand-alone SavedModel client, run by the tests in its own Python process.

`python tests/export/serving_client.py MODEL_DIR REQUESTS.npz RESPONSES.npz`

`REQUESTS.npz` holds arrays named `<signature>:<input>`; every signature
named there is called with its inputs, and each output is saved as
`<signature>:<output>`. Prints the signature names it served as JSON. It
imports TensorFlow only — no tfxmodal — as TF Serving would load the model.
"""

import json
import sys

import numpy as np
import tensorflow as tf


def main(model_dir, requests_path, responses_path):
    model = tf.saved_model.load(model_dir)
    requests = {}
    with np.load(requests_path) as stored:
        for key in stored.files:
            signature, name = key.split(":")
            requests.setdefault(signature, {})[name] = tf.constant(stored[key])
    responses = {}
    for signature, inputs in requests.items():
        outputs = model.signatures[signature](**inputs)
        responses.update({f"{signature}:{name}": value.numpy() for name, value in outputs.items()})
    np.savez(responses_path, **responses)
    print(json.dumps({"signatures": sorted(model.signatures), "served": sorted(requests)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
